#pragma once

// Records and helpers shared by the formatter tests.

#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>

#include "klog/formatters/formatter.hpp"
#include "klog/record_view.hpp"

namespace klog::formatters::test {

using namespace std::string_view_literals;

/// 2026-11-04T05:31:02.123456Z: a day of month below 10, to see the space padding.
inline constexpr std::int64_t wall = 1'793'770'262'123'456LL;

inline record_time live_time() { return {wall, false}; }

/// Local time is UTC for every test that prints it.
inline void use_utc() {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
}

/// The usual kernel record: seq 376, ts 4.836489 s, level 6, facility kern.
inline record_view kernel_record(std::string_view text) {
    record_view r;
    r.level = 6;
    r.facility = 0;
    r.seq = 376;
    r.ts_usec = 4'836'489;
    r.text = text;
    return r;
}

inline std::string format_with(const formatter& f, const record_view& r,
                               record_time t = live_time()) {
    std::string out;
    f.format(r, t, out);
    return out;
}

}  // namespace klog::formatters::test
