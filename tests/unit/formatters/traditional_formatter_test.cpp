#include "klog/formatters/traditional_formatter.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "formatter_fixtures.hpp"
#include "klog/formatters/rfc3164_formatter.hpp"

using namespace klog::formatters;
using namespace klog::formatters::test;
using namespace std::string_view_literals;

namespace {
const format_options options{"myhost", "0a1b2c3d-4e5f-6789-abcd-ef0123456789"};
}

TEST_CASE("traditional: the kern.log line", "[formatters]") {
    use_utc();
    const traditional_formatter f(options);
    CHECK(format_with(f, kernel_record("usb 1-1: new high-speed USB device")) ==
          "Nov  4 05:31:02 myhost kernel: [    4.836489] usb 1-1: new high-speed USB device\n");
    auto r = kernel_record("Linux version 6.1.0");
    r.ts_usec.reset();
    CHECK(format_with(f, r) == "Nov  4 05:31:02 myhost kernel: Linux version 6.1.0\n");
    r = kernel_record("hello");
    r.caller = "T1";
    CHECK(format_with(f, r) == "Nov  4 05:31:02 myhost kernel: [    4.836489][    T1] hello\n");
}

TEST_CASE("traditional: wall time in the local zone, day space-padded", "[formatters]") {
    use_utc();
    const traditional_formatter f(options);
    const auto r = kernel_record("x");
    // 2026-11-24T05:31:02.999999Z: two-digit day, sub-second part not shown.
    CHECK(format_with(f, r, {1'795'498'262'999'999LL, false}) ==
          "Nov 24 05:31:02 myhost kernel: [    4.836489] x\n");
    CHECK(format_with(f, r, {0, false}) == "Jan  1 00:00:00 myhost kernel: [    4.836489] x\n");
    CHECK(format_with(f, r, {-1, false}) == "Dec 31 23:59:59 myhost kernel: [    4.836489] x\n");
    ::setenv("TZ", "EST5", 1);
    ::tzset();
    CHECK(format_with(f, r) == "Nov  4 00:31:02 myhost kernel: [    4.836489] x\n");
    use_utc();
}

TEST_CASE("traditional: multi-line text and escaping", "[formatters]") {
    use_utc();
    const traditional_formatter f(options);
    CHECK(format_with(f, kernel_record("first\nsecond\x1b[0m")) ==
          "Nov  4 05:31:02 myhost kernel: [    4.836489] first\n"
          "Nov  4 05:31:02 myhost kernel: [    4.836489] second\\x1b[0m\n");
    CHECK(format_with(f, kernel_record("nul\0 del\x7f c1\xc2\x85 bad\xc0\x80 \xc3\xa9\t\\"sv)) ==
          "Nov  4 05:31:02 myhost kernel: [    4.836489] nul\\x00 del\\x7f c1\\xc2\\x85 "
          "bad\\xc0\\x80 \xc3\xa9\t\\x5c\n");
    CHECK(format_with(f, kernel_record("")) == "Nov  4 05:31:02 myhost kernel: [    4.836489] \n");
}

TEST_CASE("traditional: userspace records carry their own tag", "[formatters]") {
    use_utc();
    const traditional_formatter f(options);
    auto r = kernel_record("myapp[42]: hello");
    r.facility = 1;
    CHECK(format_with(f, r) == "Nov  4 05:31:02 myhost myapp[42]: hello\n");
    r.text = "myapp: hello";
    CHECK(format_with(f, r) == "Nov  4 05:31:02 myhost myapp: hello\n");
    r.text = "myapp[42]: one\ntwo";
    CHECK(format_with(f, r) ==
          "Nov  4 05:31:02 myhost myapp[42]: one\n"
          "Nov  4 05:31:02 myhost myapp[42]: two\n");
    r.text = "no tag here";
    CHECK(format_with(f, r) == "Nov  4 05:31:02 myhost kmsg: no tag here\n");
    r.text =
        "b\x1b"
        "d[7]: x";
    CHECK(format_with(f, r) == "Nov  4 05:31:02 myhost b\\x1bd[7]: x\n");
    r.facility = 255;
    r.level = 7;
    r.text = "x";
    CHECK(format_with(f, r) == "Nov  4 05:31:02 myhost kmsg: x\n");
}

TEST_CASE("traditional: hostname sanitized or left out", "[formatters]") {
    use_utc();
    CHECK(format_with(traditional_formatter({"", ""}), kernel_record("x")) ==
          "Nov  4 05:31:02 kernel: [    4.836489] x\n");
    CHECK(format_with(traditional_formatter({"my host\n", ""}), kernel_record("x")) ==
          "Nov  4 05:31:02 my_host_ kernel: [    4.836489] x\n");
}

TEST_CASE("traditional: u64 limits", "[formatters]") {
    use_utc();
    auto r = kernel_record("x");
    r.seq = std::numeric_limits<std::uint64_t>::max();
    r.ts_usec = std::numeric_limits<std::uint64_t>::max();
    CHECK(format_with(traditional_formatter(options), r) ==
          "Nov  4 05:31:02 myhost kernel: [18446744073709.551615] x\n");
}

TEST_CASE("traditional: the kernel time as printk prints it, at every width", "[formatters]") {
    use_utc();
    const traditional_formatter f(options);
    std::vector<std::uint64_t> times = {0, 1, 9, 10, 999'999, 1'000'000, 1'000'001, 4'836'489};
    for (std::uint64_t p = 1; p <= 10'000'000'000'000'000'000ULL / 10; p *= 10) {
        for (const std::uint64_t secs : {p - 1, p, p + 1}) {
            if (secs <= std::numeric_limits<std::uint64_t>::max() / 1'000'000) {
                times.push_back(secs * 1'000'000 + 123'456);
                times.push_back(secs * 1'000'000);
                times.push_back(secs * 1'000'000 + 999'999);
            }
        }
    }
    times.push_back(99'999'999'999);   // 99999.999999: the widest five-column time
    times.push_back(100'000'000'000);  // 100000.000000: wider than five columns
    times.push_back(std::numeric_limits<std::uint64_t>::max());
    for (const auto caller : {""sv, "T1"sv, "C123456"sv}) {
        for (const std::uint64_t t : times) {
            auto r = kernel_record("x");
            r.ts_usec = t;
            r.caller = caller;
            char expected[96];
            std::snprintf(expected, sizeof expected, "[%5llu.%06llu]",
                          static_cast<unsigned long long>(t / 1'000'000),
                          static_cast<unsigned long long>(t % 1'000'000));
            std::string want = "Nov  4 05:31:02 myhost kernel: " + std::string(expected);
            if (!caller.empty()) {
                std::snprintf(expected, sizeof expected, "[%6s]", std::string(caller).c_str());
                want += expected;
            }
            want += " x\n";
            REQUIRE(format_with(f, r) == want);
        }
    }
}

TEST_CASE("rfc3164: <PRI> and the traditional line", "[formatters]") {
    use_utc();
    const rfc3164_formatter f(options);
    CHECK(format_with(f, kernel_record("usb 1-1: new device")) ==
          "<6>Nov  4 05:31:02 myhost kernel: [    4.836489] usb 1-1: new device\n");
    auto r = kernel_record("Linux version 6.1.0");
    r.ts_usec.reset();
    r.level = 5;
    CHECK(format_with(f, r) == "<5>Nov  4 05:31:02 myhost kernel: Linux version 6.1.0\n");
    r = kernel_record("hello");
    r.caller = "T1";
    CHECK(format_with(f, r) == "<6>Nov  4 05:31:02 myhost kernel: [    4.836489][    T1] hello\n");
}

TEST_CASE("rfc3164: multi-line, escaping, userspace, facility above 23", "[formatters]") {
    use_utc();
    const rfc3164_formatter f(options);
    CHECK(format_with(f, kernel_record("a\nb\x01")) ==
          "<6>Nov  4 05:31:02 myhost kernel: [    4.836489] a\n"
          "<6>Nov  4 05:31:02 myhost kernel: [    4.836489] b\\x01\n");
    auto r = kernel_record("myapp[42]: hello");
    r.facility = 1;
    CHECK(format_with(f, r) == "<14>Nov  4 05:31:02 myhost myapp[42]: hello\n");
    r.facility = 255;
    r.level = 7;
    CHECK(format_with(f, r) == "<15>Nov  4 05:31:02 myhost myapp[42]: hello\n");
    r.facility = 23;
    CHECK(format_with(f, r) == "<191>Nov  4 05:31:02 myhost myapp[42]: hello\n");
    CHECK(format_with(f, kernel_record("")) ==
          "<6>Nov  4 05:31:02 myhost kernel: [    4.836489] \n");
}

TEST_CASE("rfc3164: without hostname, the /dev/log form", "[formatters]") {
    use_utc();
    auto r = kernel_record("x");
    r.ts_usec.reset();
    r.level = 3;
    CHECK(format_with(rfc3164_formatter({"", ""}), r) == "<3>Nov  4 05:31:02 kernel: x\n");
}
