#include "klog/decoders/kmsg_decoder.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

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

/// The unsigned number at `p`, ended by `end` or `stop` (`*p` is then the stop byte): one pass,
/// no search for the separator first (this runs for every record).
/// (By hand: libstdc++'s std::from_chars was 3 % of a replay.) False for no digit or a value
/// beyond T, as std::from_chars.
template <typename T>
bool take_number(const char*& p, const char* end, T& value) noexcept {
    const char* const start = p;
    std::uint64_t v = 0;
    constexpr std::uint64_t max = std::numeric_limits<T>::max();
    // No number of digits10 digits exceeds T (19 for 64 bits): only digits after those are
    // checked.
    constexpr std::ptrdiff_t unchecked = std::numeric_limits<T>::digits10;
    for (; p != end; ++p) {
        const auto digit = static_cast<unsigned>(static_cast<unsigned char>(*p)) - '0';
        if (digit > 9) break;
        if (p - start >= unchecked && v > (max - digit) / 10) return false;
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
    parse_extra_fields(extra, r);
    return static_cast<std::size_t>(p - begin);
}

/// The position of the first '\n' or '\\' in `s` (s.size() if none): eight bytes at a time.
std::size_t newline_or_backslash(std::string_view s) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t highs = 0x8080808080808080ULL;
    const auto* p = s.data();
    const std::size_t n = s.size();
    std::size_t i = 0;
    for (; n - i >= 8; i += 8) {
        std::uint64_t x;
        std::memcpy(&x, p + i, sizeof x);
        const std::uint64_t a = x ^ (ones * '\n');
        const std::uint64_t b = x ^ (ones * '\\');
        // A zero byte in a or b: exact as a boolean (a borrow starts only at a zero byte).
        if ((((a - ones) & ~a) | ((b - ones) & ~b)) & highs) break;
    }
    for (; i < n; ++i) {
        if (p[i] == '\n' || p[i] == '\\') return i;
    }
    return n;
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

    // Fast path: nothing escaped and no dictionary — views straight into the input.
    if (!escaped && trailer.empty()) {
        r.text = escaped_text;
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
