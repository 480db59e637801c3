#include "klog/decoders/line_decoder.hpp"

#include <charconv>

namespace klog::decoders {

namespace {

constexpr unsigned max_priority = 2047;

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

/// `<PRI>` at the start of `s`; on success removes it.
bool take_priority(std::string_view& s, record_view& r) noexcept {
    if (s.size() < 3 || s[0] != '<') return false;
    const auto close = s.find('>', 1);
    if (close == std::string_view::npos || close == 1 || close > 5) return false;
    unsigned pri = 0;
    const auto [end, ec] = std::from_chars(s.data() + 1, s.data() + close, pri);
    if (ec != std::errc{} || end != s.data() + close || pri > max_priority) return false;
    r.level = static_cast<std::uint8_t>(pri & 7U);
    r.facility = static_cast<std::uint8_t>(pri >> 3U);
    s.remove_prefix(close + 1);
    return true;
}

/// `[  secs.usecs]` at the start of `s` (leading spaces allowed, 1..6 fraction digits as
/// printed; more digits are truncated to microseconds); on success removes it.
bool take_time(std::string_view& s, record_view& r) noexcept {
    if (s.empty() || s[0] != '[') return false;
    std::size_t i = 1;
    while (i < s.size() && s[i] == ' ') ++i;
    const std::size_t secs_begin = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == secs_begin || i >= s.size() || s[i] != '.') return false;
    const std::size_t secs_end = i++;
    const std::size_t frac_begin = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == frac_begin || i >= s.size() || s[i] != ']') return false;

    std::uint64_t secs = 0;
    const auto [end, ec] = std::from_chars(s.data() + secs_begin, s.data() + secs_end, secs);
    if (ec != std::errc{} || end != s.data() + secs_end) return false;
    std::uint64_t usecs = 0;
    std::size_t digits = 0;
    for (std::size_t k = frac_begin; k < i && digits < 6; ++k, ++digits) {
        usecs = usecs * 10 + static_cast<std::uint64_t>(s[k] - '0');
    }
    for (; digits < 6; ++digits) usecs *= 10;
    constexpr std::uint64_t max_secs = UINT64_MAX / 1000000U;
    if (secs > max_secs || secs * 1000000U > UINT64_MAX - usecs) return false;
    r.ts_usec = secs * 1000000U + usecs;
    s.remove_prefix(i + 1);
    return true;
}

/// `[   T123]` / `[    C1]` right after the time; on success removes it.
bool take_caller(std::string_view& s, record_view& r) noexcept {
    if (s.size() < 4 || s[0] != '[') return false;
    std::size_t i = 1;
    while (i < s.size() && s[i] == ' ') ++i;
    if (i >= s.size() || (s[i] != 'T' && s[i] != 'C')) return false;
    const std::size_t begin = i++;
    const std::size_t digits = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == digits || i >= s.size() || s[i] != ']') return false;
    r.caller = s.substr(begin, i - begin);
    s.remove_prefix(i + 1);
    return true;
}

}  // namespace

record_view line_decoder::parse_line(std::string_view line, prefix mode) noexcept {
    record_view r;
    std::string_view rest = line;
    if (!take_priority(rest, r) && mode == prefix::required) {
        r.malformed = true;
        r.text = line;
        return r;
    }
    if (take_time(rest, r)) {
        take_caller(rest, r);
        if (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
    }
    r.text = rest;
    return r;
}

}  // namespace klog::decoders
