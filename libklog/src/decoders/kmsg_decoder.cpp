#include "klog/decoders/kmsg_decoder.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

#include "klog/text/byte_blocks.hpp"

namespace klog::decoders {

namespace {

constexpr unsigned max_priority = 2047;  // facility 255, level 7

template <typename T>
bool parse_number(std::string_view s, T& value) noexcept {
    if (s.empty()) return false;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    return ec == std::errc{} && end == s.data() + s.size();
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// Header fields after PRI,SEQ,TS: the flag and any `key=value` extras.
void parse_extra_fields(std::string_view rest, record_view& r) noexcept {
    bool first = true;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        const std::string_view field = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        if (field.starts_with("caller=")) {
            r.caller = field.substr(7);
        } else if (first && field.size() == 1) {
            r.flag = field[0];
        }
        first = false;
    }
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/// The digits that lead the eight bytes at `p` (all readable): how many (0..8), and their value
/// in `value`. Eight bytes at once, no branch per digit.
[[gnu::always_inline]] inline std::size_t leading_digits8(const char* p,
                                                          std::uint64_t& value) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    std::uint64_t x;
    std::memcpy(&x, p, sizeof x);
    // A byte is a digit when its high nibble is 3 and its low nibble below 10 (low + 6 < 16);
    // both tests stay inside the byte. `other` gets a bit in the high nibble of every other byte,
    // moved to the byte's top bit.
    std::uint64_t other = ((x & (ones * 0xf0)) ^ (ones * 0x30)) |
                          (((x & (ones * 0x0f)) + ones * 0x06) & (ones * 0x10));
    other = (other | other << 1 | other << 2 | other << 3) & (ones * 0x80);
    const std::size_t n = other == 0 ? 8 : static_cast<std::size_t>(__builtin_ctzll(other)) / 8;
    if (n == 0) return 0;
    // The digits' values, moved up so that the missing ones are leading zeros (the first byte
    // is the most significant digit), then combined in pairs, fours and eights.
    std::uint64_t v = (x & (ones * 0x0f)) << (8 * (8 - n));
    v = (v * 2561) >> 8;                                              // 10 * 2^8 + 1
    v = ((v & 0x00ff00ff00ff00ffULL) * 6553601) >> 16;                // 100 * 2^16 + 1
    value = ((v & 0x0000ffff0000ffffULL) * 42949672960001ULL) >> 32;  // 10^4 * 2^32 + 1
    return n;
}
#endif

/// The unsigned number at `p`, ended by `end` or `stop` (`*p` is then the stop byte): one pass,
/// no search for the separator first (this runs for every record).
/// (By hand: libstdc++'s std::from_chars was 3 % of a replay.) False for no digit or a value
/// beyond T, as std::from_chars.
template <typename T>
[[gnu::always_inline]] inline bool take_number(const char*& p, const char* end, T& value) noexcept {
    constexpr std::size_t unchecked = std::numeric_limits<T>::digits10;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    // Eight digits at a time where sixteen bytes can be read: up to digits10 digits cannot
    // exceed T; more go to the checked loop below.
    if (end - p >= 16) {
        static constexpr std::uint64_t pow10[] = {
            1, 10, 100, 1'000, 10'000, 100'000, 1'000'000, 10'000'000, 100'000'000};
        std::uint64_t v = 0;
        std::size_t n = leading_digits8(p, v);
        if (n == 0) return false;
        if (n == 8) {
            std::uint64_t more = 0;
            const std::size_t m = leading_digits8(p + 8, more);
            v = v * pow10[m] + more;
            n += m;
        }
        if (n <= unchecked && n < 16) {
            p += n;
            value = static_cast<T>(v);
            return true;
        }
    }
#endif
    const char* const start = p;
    std::uint64_t v = 0;
    constexpr std::uint64_t max = std::numeric_limits<T>::max();
    // No number of digits10 digits exceeds T (19 for 64 bits): only digits after those are
    // checked.
    for (; p != end; ++p) {
        const auto digit = static_cast<unsigned>(static_cast<unsigned char>(*p)) - '0';
        if (digit > 9) break;
        if (static_cast<std::size_t>(p - start) >= unchecked && v > (max - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    if (p == start) return false;
    value = static_cast<T>(v);
    return true;
}

/// `PRI,SEQ,TS[,FLAG[,KEY=VALUE...]];` at the start of `bytes`: the position of the `;` that
/// ends it, or npos when there is none or the header does not parse (a number that does not
/// read, a newline in it). The `;` is found in the same pass that reads the numbers (this runs
/// for every record); the fields are set only for a header that parses.
std::size_t parse_header(std::string_view bytes, record_view& r) noexcept {
    constexpr auto none = std::string_view::npos;
    const char* const begin = bytes.data();
    const char* p = begin;
    const char* const end = p + bytes.size();
    unsigned pri = 0;
    std::uint64_t seq = 0;
    std::uint64_t ts = 0;
    if (!take_number(p, end, pri) || pri > max_priority || p == end || *p++ != ',') return none;
    if (!take_number(p, end, seq) || p == end || *p++ != ',') return none;
    if (!take_number(p, end, ts) || p == end) return none;
    // The fields after the time (the flag, `caller=`, ...): a few bytes, scanned here rather
    // than searched for twice. The header is one line: a newline before the `;` is not the
    // kernel's format.
    const char* fields = p;
    if (*p == ',') {
        fields = ++p;
        while (p != end && *p != ';') {
            if (*p++ == '\n') return none;
        }
        if (p == end) return none;
    } else if (*p != ';') {
        return none;
    }
    const std::string_view extra(fields, static_cast<std::size_t>(p - fields));
    r.level = static_cast<std::uint8_t>(pri & 7U);
    r.facility = static_cast<std::uint8_t>(pri >> 3U);
    r.seq = seq;
    r.ts_usec = ts;
    if (extra.size() == 1 && extra[0] != ',') {
        r.flag = extra[0];  // the usual `,-;`: a flag and nothing else (`,,;` is two empty fields)
    } else {
        parse_extra_fields(extra, r);
    }
    return static_cast<std::size_t>(p - begin);
}

/// The position of the first '\n' or '\\' in `s` (s.size() if none): sixteen bytes at a time.
std::size_t newline_or_backslash(std::string_view s) noexcept {
    return text::find_marked(s.data(), s.size(), 0,
                             [](text::block16 b) noexcept { return (b == '\n') | (b == '\\'); });
}

/// Calls `fn` for each '\n'-separated line of `s`; the record's final '\n' ends the last line
/// rather than starting an empty one.
template <typename Fn>
void for_each_line(std::string_view s, Fn&& fn) {
    while (!s.empty()) {
        const auto end = s.find('\n');
        fn(s.substr(0, end));
        if (end == std::string_view::npos) break;
        s.remove_prefix(end + 1);
    }
}

}  // namespace

std::size_t kmsg_unescape(std::string_view escaped, char* out, bool keep_newline) noexcept {
    char* const start = out;
    std::size_t i = 0;
    while (i < escaped.size()) {
        const auto bs = escaped.find('\\', i);
        const std::size_t run = (bs == std::string_view::npos ? escaped.size() : bs) - i;
        std::memcpy(out, escaped.data() + i, run);
        out += run;
        i += run;
        if (bs == std::string_view::npos) break;
        // escaped[i] == '\\'
        if (i + 3 < escaped.size() && escaped[i + 1] == 'x') {
            const int hi = hex_value(escaped[i + 2]);
            const int lo = hex_value(escaped[i + 3]);
            if (hi >= 0 && lo >= 0) {
                const char byte = static_cast<char>(hi * 16 + lo);
                if (!(keep_newline && byte == '\n')) {
                    *out++ = byte;
                    i += 4;
                    continue;
                }
            }
        }
        *out++ = '\\';  // malformed or kept escape: literally
        ++i;
    }
    return static_cast<std::size_t>(out - start);
}

record_view parse_kmsg_record(std::string_view bytes, std::string& scratch) noexcept {
    record_view r;
    parse_kmsg_record(bytes, scratch, r);
    return r;
}

void parse_kmsg_record(std::string_view bytes, std::string& scratch, record_view& r) noexcept {
    // Every field, one by one (see the header): what a header leaves out is the default.
    r.level = 6;
    r.facility = 0;
    r.seq.reset();
    r.ts_usec.reset();
    r.flag = '-';
    r.caller = {};
    r.text = {};
    r.dictionary = {};
    r.malformed = false;
    r.single_line = false;
    r.own = false;
    r.pstore = false;
    r.incident = nullptr;
    auto semicolon = parse_header(bytes, r);
    if (semicolon == std::string_view::npos) {
        semicolon = bytes.find(';');
        const auto first_nl = bytes.find('\n');
        r = record_view{};
        r.malformed = true;
        // The record's own end is no line of its text.
        std::string_view text = bytes;
        if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
        r.text = text;
        // A header whose sequence number still reads keeps the record in its place (no false
        // gap around it, no second delivery after a restart).
        const auto header = bytes.substr(0, std::min(semicolon, first_nl));
        if (const auto c1 = header.find(','); c1 != std::string_view::npos) {
            const auto rest = header.substr(c1 + 1);
            std::uint64_t seq = 0;
            if (parse_number(rest.substr(0, rest.find(',')), seq)) r.seq = seq;
        }
        return;
    }

    std::string_view body = bytes.substr(semicolon + 1);
    // One scan for the text's end and its first escape.
    const auto stop = newline_or_backslash(body);
    const bool escaped = stop < body.size() && body[stop] == '\\';
    const auto nl = escaped ? body.find('\n', stop) : stop;
    const std::string_view escaped_text = body.substr(0, nl);
    std::string_view trailer = nl >= body.size() ? std::string_view{} : body.substr(nl + 1);

    // Fast path: nothing escaped and no dictionary — views straight into the input; the scan
    // stopped at the first newline, so the text holds none.
    if (!escaped && trailer.empty()) {
        r.text = escaped_text;
        r.single_line = true;
        return;
    }

    // Worst case: text + dictionary, then text again + '\n' + stray lines (below).
    if (scratch.size() < 2 * bytes.size() + 1) scratch.resize(2 * bytes.size() + 1);
    char* out = scratch.data();
    const std::size_t text_len = kmsg_unescape(escaped_text, out);
    r.text = std::string_view(out, text_len);
    out += text_len;

    // Dictionary: lines starting with a space. A line that does not is not the kernel's
    // format; such lines are kept (appended to the text) and the record is marked.
    char* const dict_start = out;
    std::size_t entries = 0;
    bool stray = false;
    for_each_line(trailer, [&](std::string_view line) {
        if (!line.starts_with(' ')) {
            stray = true;
            return;
        }
        if (entries > 0) *out++ = '\n';
        out += kmsg_unescape(line.substr(1), out, /*keep_newline=*/true);
        ++entries;
    });
    r.dictionary = dictionary_view(
        std::string_view(dict_start, static_cast<std::size_t>(out - dict_start)), entries);
    if (stray) {
        r.malformed = true;
        char* const joined = out;
        std::memcpy(out, r.text.data(), r.text.size());
        out += r.text.size();
        for_each_line(trailer, [&](std::string_view line) {
            if (line.starts_with(' ')) return;
            *out++ = '\n';
            std::memcpy(out, line.data(), line.size());
            out += line.size();
        });
        r.text = std::string_view(joined, static_cast<std::size_t>(out - joined));
    }
}

}  // namespace klog::decoders
