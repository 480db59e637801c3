#include "klog/symbols/symbol_file.hpp"

#include "klog/os/os.hpp"

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
    // Pointer loops over a class table: this runs ~100k times per file.
    const char* p = text.data();
    const char* end = p + text.size();
    if (p != end && end[-1] == '\r') --end;
    while (p != end && is_space(*p)) ++p;
    if (p == end) return status::blank;

    // Address: 1..16 hex digits.
    std::uint64_t address = 0;
    const char* digits = p;
    for (int d; p != end && (d = hex_digit(*p)) >= 0; ++p) {
        address = (address << 4) | static_cast<std::uint64_t>(d);
    }
    if (p == digits || p - digits > 16) return status::malformed;

    // Blanks, one type letter, blanks.
    if (p == end || !is_space(*p)) return status::malformed;
    while (p != end && is_space(*p)) ++p;
    if (end - p < 2 || !is_space(p[1])) return status::malformed;
    const char type = *p;
    const bool letter = (type >= 'A' && type <= 'Z') || (type >= 'a' && type <= 'z');
    if (!letter && type != '?' && type != '-') return status::malformed;
    p += 2;
    while (p != end && is_space(*p)) ++p;

    // Name: up to the next blank.
    const char* name = p;
    while (p != end && !is_space(*p)) ++p;
    if (p == name) return status::malformed;
    const char* name_end = p;

    // Optional `[module]`, then nothing but blanks.
    while (p != end && is_space(*p)) ++p;
    std::string_view module;
    if (p != end) {
        const char* column = p;
        while (p != end && !is_space(*p)) ++p;
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
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        lines.take(text.substr(0, nl));
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    }
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
        for (;;) {
            const std::size_t nl = text.find('\n');
            if (nl == std::string_view::npos) break;
            if (overlong) {
                overlong = false;  // its end: it was counted and reported already
            } else {
                lines.take(text.substr(0, nl));
            }
            text.remove_prefix(nl + 1);
        }
        if (text.size() == block.size()) {  // one line fills the block: malformed, skip it
            if (!overlong) {
                lines.count_line();
                lines.malformed();
                overlong = true;
            }
            text = {};
        }
        std::memmove(block.data(), text.data(), text.size());
        used = text.size();
    }
    if (used > 0 && !overlong) lines.take(std::string_view(block.data(), used));
    return lines.finish();
}

}  // namespace klog::symbols
