#include "klog/symbols/symbol_file.hpp"

#include "klog/os/os.hpp"
#include "klog/text/byte_blocks.hpp"

#include <cerrno>
#include <cstring>
#include <system_error>

namespace klog::symbols {

namespace {

bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }

int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// A type letter: A-Z, a-z, `?` or `-`.
bool is_type(char c) noexcept {
    const auto lower = static_cast<unsigned char>(c | 0x20);
    return static_cast<unsigned char>(lower - 'a') < 26 || c == '?' || c == '-';
}

// The value of the 16 hex digits at p (either case), or false if any of them is none: the
// sixteen bytes are judged and combined at once. On a big-endian machine always false (the
// byte loop decides).
bool hex16(const char* p, std::uint64_t& out) noexcept {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    using klog::text::block16;
    using u16x8 = std::uint16_t __attribute__((vector_size(16)));
    using u32x4 = std::uint32_t __attribute__((vector_size(16)));
    using u64x2 = std::uint64_t __attribute__((vector_size(16)));
    const block16 b = klog::text::load16(p);
    const block16 digit = (b >= '0') & (b <= '9');  // bytes >= 0x80 are negative: neither
    const block16 lower = b | 0x20;                 // 'A'-'F' -> 'a'-'f'
    const block16 alpha = (lower >= 'a') & (lower <= 'f');
    const block16 valid = digit | alpha;
    std::uint64_t all[2];
    std::memcpy(all, &valid, sizeof all);
    if ((all[0] & all[1]) != ~std::uint64_t{0}) return false;
    // Digit values (0-15) one a byte, the first digit in the lowest byte ('a' & 0x0f == 1);
    // then pairs of them into bytes, pairs of those into 16 bits, into 32 bits, the earlier
    // one always the more significant.
    const auto values = reinterpret_cast<u16x8>((b & 0x0f) + (alpha & 9));
    const auto bytes = reinterpret_cast<u32x4>(((values << 4) | (values >> 8)) & 0x00ff);
    const auto words = reinterpret_cast<u64x2>(((bytes << 8) | (bytes >> 16)) & 0xffff);
    const u64x2 halves = ((words << 16) | (words >> 32)) & 0xffffffff;
    out = (halves[0] << 32) | halves[1];
    return true;
#else
    (void)p;
    (void)out;
    return false;
#endif
}

// The first blank (space or tab) in [p, end), or end: sixteen bytes at a time. `line` (<= p)
// is where the line starts: a name shorter than 16 bytes is looked at in the last 16 bytes of
// the line, not in a padded copy.
const char* next_space(const char* line, const char* p, const char* end) noexcept {
    const auto n = static_cast<std::size_t>(end - line);
    return line + klog::text::find_marked(line, n, static_cast<std::size_t>(p - line),
                                          [](klog::text::block16 b) noexcept {
                                              return (b == ' ') | (b == '\t');
                                          });
}

// The usual line at the start of `text`, `ffffffff81a07e3d T name\n` (16 digits, one blank,
// the type, one blank, a name, the '\n'): its symbol in `out` and the position of its '\n';
// npos for any other line, which parse_line() then reads. parse_line() reads such a line the
// same way; here one scan finds both the name's end and the line's (the line loops would scan
// its bytes for the '\n' first, then parse_line() the name's again).
std::size_t usual_line(std::string_view text, symbol_file::line& out) noexcept {
    const char* p = text.data();
    const std::size_t n = text.size();
    if (n < 21 || !is_space(p[16]) || !is_type(p[17]) || !is_space(p[18]) || is_space(p[19])) {
        return std::string_view::npos;
    }
    std::uint64_t address = 0;
    if (!hex16(p, address)) return std::string_view::npos;
    // The name ends at the '\n'; a blank, '\r' or any other byte 0x00-0x20 first is a line of
    // another shape (one test, not four).
    const std::size_t stop = klog::text::find_marked(p, n, 19, [](klog::text::block16 b) noexcept {
        return (b >= 0) & (b <= ' ');
    });
    if (stop == 19 || stop == n || p[stop] != '\n') return std::string_view::npos;
    out.address = address;
    out.type = p[17];
    out.name = std::string_view(p + 19, stop - 19);
    out.module = {};
    return stop;
}

}  // namespace

std::string symbol_file::read_all(std::istream& in) {
    std::string data;
    char buffer[1 << 16];
    while (in) {
        in.read(buffer, sizeof buffer);
        data.append(buffer, static_cast<std::size_t>(in.gcount()));
    }
    return data;
}

std::string symbol_file::read_file(const std::filesystem::path& path) {
    const auto fd = os::open(path.string(), O_RDONLY);
    std::string data;
    struct stat st {};
    // One allocation of the file size (+1 to see EOF without growing); /proc files report
    // size 0 and grow by doubling.
    std::size_t capacity = 1 << 16;
    if (!os::status(fd.get(), st) && st.st_size > 0) {
        capacity = static_cast<std::size_t>(st.st_size) + 1;
    }
    data.resize(capacity);
    std::size_t used = 0;
    for (;;) {
        if (used == data.size()) data.resize(data.size() * 2);
        std::error_code ec;
        const auto n = os::read(fd.get(), data.data() + used, data.size() - used, ec);
        if (ec) throw os::failure(ec, "read", path.string());
        if (n == 0) break;
        used += n;
    }
    data.resize(used);
    return data;
}

std::size_t symbol_file::count_lines(std::string_view text) noexcept {
    std::size_t lines = 0;
    const char* p = text.data();
    const char* end = p + text.size();
    while (p != end) {
        const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
        ++lines;
        if (nl == nullptr) break;
        p = static_cast<const char*>(nl) + 1;
    }
    return lines;
}

symbol_file::status symbol_file::parse_line(std::string_view text, line& out) noexcept {
    // Runs once per line of a file of ~100k lines: the usual line (16 hex digits, one blank,
    // the type, one blank, the name, perhaps `\t[module]`) takes the fast paths (16 digits
    // at once, the name's end 16 bytes at a time); anything else takes the byte loops, which
    // decide every line alone (the fast paths only ever accept what they would).
    const char* p = text.data();
    const char* end = p + text.size();
    if (p != end && end[-1] == '\r') --end;
    while (p != end && is_space(*p)) ++p;
    if (p == end) return status::blank;

    // Address: 1..16 hex digits, then a blank.
    std::uint64_t address = 0;
    if (end - p > 16 && is_space(p[16]) && hex16(p, address)) {
        p += 16;
    } else {
        const char* digits = p;
        for (int d; p != end && (d = hex_digit(*p)) >= 0; ++p) {
            address = (address << 4) | static_cast<std::uint64_t>(d);
        }
        if (p == digits || p - digits > 16) return status::malformed;
        if (p == end || !is_space(*p)) return status::malformed;
    }

    // Blanks, one type letter, blanks (p is at the first blank). The usual ` T name` at once.
    char type = 0;
    if (end - p >= 4 && !is_space(p[1]) && is_space(p[2]) && !is_space(p[3])) {
        type = p[1];
        p += 3;
    } else {
        ++p;
        while (p != end && is_space(*p)) ++p;
        if (end - p < 2 || !is_space(p[1])) return status::malformed;
        type = *p;
        p += 2;
        while (p != end && is_space(*p)) ++p;
    }
    if (!is_type(type)) return status::malformed;

    // Name: up to the next blank.
    const char* name = p;
    p = next_space(text.data(), p, end);
    if (p == name) return status::malformed;
    const char* name_end = p;

    // Optional `[module]`, then nothing but blanks.
    while (p != end && is_space(*p)) ++p;
    std::string_view module;
    if (p != end) {
        const char* column = p;
        p = next_space(text.data(), p, end);
        if (p - column < 3 || *column != '[' || p[-1] != ']') return status::malformed;
        module = std::string_view(column + 1, static_cast<std::size_t>(p - column - 2));
        while (p != end && is_space(*p)) ++p;
        if (p != end) return status::malformed;
    }

    out.address = address;
    out.type = type;
    out.name = std::string_view(name, static_cast<std::size_t>(name_end - name));
    out.module = module;
    return status::symbol;
}

namespace {

// Line-by-line parsing shared by the whole-buffer and the block-wise reader.
class line_parser {
  public:
    line_parser(std::string_view source, const std::function<void(const symbol_file::line&)>& on,
                std::vector<std::string>& diagnostics)
        : source_(source), on_symbol_(on), diagnostics_(diagnostics) {}

    // The line at the start of `text` if it is complete (it ends with a '\n', or `last`: the
    // text ends it): taken, and the number of its bytes with the '\n'; else 0.
    std::size_t take_next(std::string_view text, bool last) {
        if (const std::size_t nl = usual_line(text, parsed_); nl != std::string_view::npos) {
            ++line_number_;
            on_symbol_(parsed_);
            return nl + 1;
        }
        const std::size_t nl = klog::text::find_byte(text, '\n');
        if (nl == std::string_view::npos) {
            if (!last) return 0;
            take(text);
            return text.size();
        }
        take(text.substr(0, nl));
        return nl + 1;
    }
    void take(std::string_view current) {
        ++line_number_;
        switch (symbol_file::parse_line(current, parsed_)) {
            case symbol_file::status::symbol:
                on_symbol_(parsed_);
                break;
            case symbol_file::status::blank:
                break;
            case symbol_file::status::malformed:
                malformed();
                break;
        }
    }
    void malformed() {
        if (++malformed_ <= symbol_file::max_reported_lines) {
            // Line number only: the file may be one klogd was pointed at by mistake (a
            // secret), and these lines go to the log.
            diagnostics_.push_back(std::string(source_) + ":" + std::to_string(line_number_) +
                                   ": malformed symbol line");
        }
    }
    void count_line() { ++line_number_; }
    std::size_t finish() {
        if (malformed_ > symbol_file::max_reported_lines) {
            diagnostics_.push_back(std::string(source_) + ": " +
                                   std::to_string(malformed_ - symbol_file::max_reported_lines) +
                                   " more malformed lines not shown");
        }
        return malformed_;
    }

  private:
    std::string_view source_;
    const std::function<void(const symbol_file::line&)>& on_symbol_;
    std::vector<std::string>& diagnostics_;
    symbol_file::line parsed_;
    std::size_t line_number_ = 0;
    std::size_t malformed_ = 0;
};

}  // namespace

std::size_t symbol_file::parse(std::string_view text, std::string_view source,
                               const std::function<void(const line&)>& on_symbol,
                               std::vector<std::string>& diagnostics) {
    line_parser lines(source, on_symbol, diagnostics);
    while (!text.empty()) text.remove_prefix(lines.take_next(text, true));
    return lines.finish();
}

std::size_t symbol_file::parse_file(const std::filesystem::path& path, std::string_view source,
                                    const std::function<void(const line&)>& on_symbol,
                                    std::vector<std::string>& diagnostics) {
    const auto fd = os::open(path.string(), O_RDONLY);
    line_parser lines(source, on_symbol, diagnostics);
    std::string block(block_size, '\0');
    std::size_t used = 0;      // bytes in block
    bool overlong = false;     // skipping the rest of a line longer than a block
    for (;;) {
        std::error_code ec;
        const auto n = os::read(fd.get(), block.data() + used, block.size() - used, ec);
        if (ec) throw os::failure(ec, "read", path.string());
        if (n == 0) break;
        used += n;
        std::string_view text(block.data(), used);
        if (overlong) {
            const std::size_t nl = klog::text::find_byte(text, '\n');
            if (nl != std::string_view::npos) {
                overlong = false;  // its end: it was counted and reported already
                text.remove_prefix(nl + 1);
            }
        }
        if (!overlong) {
            while (const std::size_t taken = lines.take_next(text, false)) {
                text.remove_prefix(taken);
            }
        }
        if (text.size() == block.size()) {  // one line fills the block: malformed, skip it
            if (!overlong) {
                lines.count_line();
                lines.malformed();
                overlong = true;
            }
            text = {};
        }
        // Not from text = {}: memmove from a null pointer is undefined even for 0 bytes (UBSan
        // stopped the overlong-line test here).
        if (!text.empty()) std::memmove(block.data(), text.data(), text.size());
        used = text.size();
    }
    if (used > 0 && !overlong) lines.take(std::string_view(block.data(), used));
    return lines.finish();
}

}  // namespace klog::symbols
