#include "format_common.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <ctime>

#include "klog/formatters/line_colors.hpp"
#include "klog/formatters/text_escaper.hpp"

namespace klog::formatters::detail {
namespace {

constexpr std::int64_t usec_per_sec = 1'000'000;
constexpr std::int64_t secs_per_day = 86'400;
constexpr const char* month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct civil_time {
    std::int64_t year;
    unsigned month;  // 1..12
    unsigned day;    // 1..31
    unsigned hour, minute, second;
};

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
    const std::int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// Howard Hinnant's civil_from_days: proleptic Gregorian calendar, no time_t, no locale.
civil_time civil_from_secs(std::int64_t secs) noexcept {
    const std::int64_t days = floor_div(secs, secs_per_day);
    const std::int64_t sod = secs - days * secs_per_day;
    const std::int64_t z = days + 719468;
    const std::int64_t era = floor_div(z, 146097);
    const std::int64_t doe = z - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
    const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
    civil_time t{};
    t.year = yoe + era * 400 + (m <= 2 ? 1 : 0);
    t.month = static_cast<unsigned>(m);
    t.day = static_cast<unsigned>(d);
    t.hour = static_cast<unsigned>(sod / 3600);
    t.minute = static_cast<unsigned>(sod / 60 % 60);
    t.second = static_cast<unsigned>(sod % 60);
    return t;
}

void append_padded(std::string& out, std::uint64_t value, int width, char pad) {
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, value);
    const auto len = static_cast<int>(res.ptr - buf);
    if (len < width) out.append(static_cast<std::size_t>(width - len), pad);
    out.append(buf, res.ptr);
}

/// "00" "01" ... "99": two digits at a time.
constexpr auto digit_pairs = [] {
    std::array<char, 200> pairs{};
    for (unsigned v = 0; v < 100; ++v) {
        pairs[2 * v] = static_cast<char>('0' + v / 10);
        pairs[2 * v + 1] = static_cast<char>('0' + v % 10);
    }
    return pairs;
}();

/// `v` (< 100) as two digits at `p`.
void put_2(char* p, unsigned v) noexcept { std::memcpy(p, &digit_pairs[2 * v], 2); }

void append_2(std::string& out, unsigned v) {
    char two[2];
    put_2(two, v % 100);
    out.append(two, 2);
}

}  // namespace

void append_uint(std::string& out, std::uint64_t value) {
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, res.ptr);
}

void append_kernel_prefix(std::string& out, const record_view& record, std::string_view lead) {
    // Composed in place and appended once with `lead`: this runs for every record.
    char buf[max_prefix_lead + 32];
    char* p = buf;
    if (lead.size() > max_prefix_lead) {
        out.append(lead);
    } else {
        p = std::copy(lead.begin(), lead.end(), p);
    }
    if (record.ts_usec) {
        // `[%5llu.%06llu]`
        const std::uint64_t secs = *record.ts_usec / 1'000'000;
        const auto usec = static_cast<unsigned>(*record.ts_usec % 1'000'000);
        *p++ = '[';
        if (secs < 100'000) {
            // Right-aligned in five columns, as almost every record's time is.
            auto s = static_cast<unsigned>(secs);
            for (int i = 4; i >= 0; --i) {
                p[i] = i == 4 || s != 0 ? static_cast<char>('0' + s % 10) : ' ';
                s /= 10;
            }
            p += 5;
        } else {
            p = std::to_chars(p, buf + sizeof buf, secs).ptr;  // at most 14 digits (2^64 / 10^6)
        }
        *p++ = '.';
        put_2(p, usec / 10'000);
        put_2(p + 2, usec / 100 % 100);
        put_2(p + 4, usec % 100);
        p += 6;
        *p++ = ']';
    }
    if (record.caller.empty()) {
        if (record.ts_usec) *p++ = ' ';
        out.append(buf, static_cast<std::size_t>(p - buf));
        return;
    }
    out.append(buf, static_cast<std::size_t>(p - buf));
    out += '[';
    if (record.caller.size() < 6) out.append(6 - record.caller.size(), ' ');
    text_escaper::append(out, record.caller);
    out.append("] ", 2);
}

namespace {
/// `hh:mm:ss`, shared by the RFC 3339 and the syslog time stamps.
void append_hms(std::string& out, const civil_time& t) {
    append_2(out, t.hour);
    out += ':';
    append_2(out, t.minute);
    out += ':';
    append_2(out, t.second);
}
}  // namespace

void append_rfc3339_utc(std::string& out, std::int64_t wall_usec) {
    // 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z: four-digit years only.
    constexpr std::int64_t min_usec = -62'167'219'200LL * usec_per_sec;
    constexpr std::int64_t max_usec = 253'402'300'800LL * usec_per_sec - 1;
    if (wall_usec < min_usec) wall_usec = min_usec;
    if (wall_usec > max_usec) wall_usec = max_usec;
    const std::int64_t secs = floor_div(wall_usec, usec_per_sec);
    const auto usec = static_cast<std::uint64_t>(wall_usec - secs * usec_per_sec);
    const civil_time t = civil_from_secs(secs);
    append_padded(out, static_cast<std::uint64_t>(t.year), 4, '0');
    out += '-';
    append_2(out, t.month);
    out += '-';
    append_2(out, t.day);
    out += 'T';
    append_hms(out, t);
    out += '.';
    append_padded(out, usec, 6, '0');
    out += 'Z';
}

void append_syslog_local_time(std::string& out, std::int64_t wall_usec) {
    // localtime_r costs more than formatting a whole record; records come many to a second.
    // The cache is keyed on the second and on what tzset() last set (glibc's localtime_r does
    // not re-read TZ by itself), and is per thread.
    struct cached_second {
        std::int64_t secs = 0;
        long zone = 0;
        const char* zone_name = nullptr;
        bool valid = false;
        char text[15] = {};
    };
    thread_local cached_second cache;
    const std::int64_t secs = floor_div(wall_usec, usec_per_sec);
    if (cache.valid && cache.secs == secs && cache.zone == ::timezone &&
        cache.zone_name == ::tzname[0]) {
        out.append(cache.text, sizeof cache.text);
        return;
    }
    civil_time t{};
    std::tm tm{};
    const auto tt = static_cast<std::time_t>(secs);
    if (localtime_r(&tt, &tm) != nullptr) {
        t.month = static_cast<unsigned>(tm.tm_mon + 1);
        t.day = static_cast<unsigned>(tm.tm_mday);
        t.hour = static_cast<unsigned>(tm.tm_hour);
        t.minute = static_cast<unsigned>(tm.tm_min);
        t.second = static_cast<unsigned>(tm.tm_sec > 59 ? 59 : tm.tm_sec);
    } else {
        t = civil_from_secs(secs);  // out of the C library's range: UTC rather than nothing
    }
    const std::size_t start = out.size();
    out.append(month_names[(t.month - 1) % 12], 3);
    out += ' ';
    out += t.day < 10 ? ' ' : static_cast<char>('0' + t.day / 10);
    out += static_cast<char>('0' + t.day % 10);
    out += ' ';
    append_hms(out, t);
    out.copy(cache.text, sizeof cache.text, start);
    cache.secs = secs;
    cache.zone = ::timezone;
    cache.zone_name = ::tzname[0];
    cache.valid = true;
}

std::string printable_token(std::string_view s, std::size_t max_len) {
    std::string token(s.substr(0, max_len));
    for (char& c : token) {
        if (c < 33 || c > 126) c = '_';
    }
    return token;
}

unsigned wire_priority(const record_view& record) noexcept {
    const unsigned facility = record.facility > 23 ? 1U : record.facility;
    return facility * 8U + (record.level & 7U);
}

void append_prefixed_lines(std::string& out, std::size_t prefix_pos, std::size_t prefix_len,
                           std::string_view text, const record_view& record, bool color) {
    std::string_view text_color;
    if (color) {
        // The repeated prefix carries its colours: dim on, prefix, reset, the text's colour.
        out.insert(prefix_pos, line_colors::prefix);
        out += line_colors::reset;
        text_color =
            record.own ? line_colors::own_level(record.level) : line_colors::level(record.level);
        out += text_color;
        prefix_len = out.size() - prefix_pos;
    }
    for (;;) {
        const auto nl = text_escaper::append_line(out, text);
        if (!text_color.empty()) out += line_colors::reset;
        out += '\n';
        if (nl == std::string_view::npos) return;
        text.remove_prefix(nl + 1);
        out.reserve(out.size() + prefix_len);  // no reallocation below: the source stays valid
        out.append(out.data() + prefix_pos, prefix_len);
    }
}

std::string_view append_syslog_tag(std::string& out, const record_view& record) {
    if (record.own) {
        out.append("klogd: ", 7);
        return record.origin().message;
    }
    if (record.from_kernel()) {
        append_kernel_prefix(out, record, "kernel: ");
        return record.text;
    }
    if (record.pstore) {
        append_kernel_prefix(out, record, "pstore: ");  // the previous boot's kernel, from pstore
        return record.text;
    }
    const klog::origin origin = record.origin();
    if (origin.ident.empty()) {
        out.append("kmsg", 4);
    } else {
        text_escaper::append(out, origin.ident);
    }
    if (origin.pid) {
        out += '[';
        append_uint(out, *origin.pid);
        out += ']';
    }
    out.append(": ", 2);
    return origin.message;
}

void append_syslog_lines(std::string& out, const record_view& record, const record_time& time,
                         std::string_view host, bool with_pri, bool color) {
    const std::size_t start = out.size();
    if (with_pri) {
        out += '<';
        append_uint(out, wire_priority(record));
        out += '>';
    }
    append_syslog_local_time(out, time.wall_usec);
    out += ' ';
    if (!host.empty()) {
        out += host;
        out += ' ';
    }
    const std::string_view message = append_syslog_tag(out, record);
    append_prefixed_lines(out, start, out.size() - start, message, record, color);
}

}  // namespace klog::formatters::detail
