#include "klog/formatters/raw_formatter.hpp"

#include <catch2/catch.hpp>
#include <limits>
#include <string>

#include "formatter_fixtures.hpp"

using namespace klog::formatters;
using namespace klog::formatters::test;

TEST_CASE("raw: kernel record with time, as syslog(2) prints it", "[formatters]") {
    const raw_formatter f;
    CHECK(format_with(f, kernel_record("usb 1-1: new high-speed USB device")) ==
          "<6>[    4.836489] usb 1-1: new high-speed USB device\n");
}

TEST_CASE("raw: without kernel time there is no bracket and no space", "[formatters]") {
    auto r = kernel_record("Linux version 6.1.0");
    r.ts_usec.reset();
    r.level = 5;
    CHECK(format_with(raw_formatter{}, r) == "<5>Linux version 6.1.0\n");
}

TEST_CASE("raw: caller right-aligned in six columns", "[formatters]") {
    auto r = kernel_record("Freeing unused kernel memory");
    r.caller = "T1";
    CHECK(format_with(raw_formatter{}, r) ==
          "<6>[    4.836489][    T1] Freeing unused kernel memory\n");
    r.caller = "C12345";
    CHECK(format_with(raw_formatter{}, r) ==
          "<6>[    4.836489][C12345] Freeing unused kernel memory\n");
    r.caller = "T1234567";
    CHECK(format_with(raw_formatter{}, r) ==
          "<6>[    4.836489][T1234567] Freeing unused kernel memory\n");
    r.ts_usec.reset();
    r.caller = "T1";
    CHECK(format_with(raw_formatter{}, r) == "<6>[    T1] Freeing unused kernel memory\n");
}

TEST_CASE("raw: one line per text line, each with the prefix", "[formatters]") {
    const raw_formatter f;
    auto r = kernel_record("Call Trace:\n <TASK>\n dump_stack+0x10/0x20");
    r.level = 4;
    CHECK(format_with(f, r) ==
          "<4>[    4.836489] Call Trace:\n"
          "<4>[    4.836489]  <TASK>\n"
          "<4>[    4.836489]  dump_stack+0x10/0x20\n");
    // Every '\n' splits, as the kernel's record_print_text() does.
    CHECK(format_with(f, kernel_record("a\n")) == "<6>[    4.836489] a\n<6>[    4.836489] \n");
    CHECK(format_with(f, kernel_record("\n\n")) ==
          "<6>[    4.836489] \n<6>[    4.836489] \n<6>[    4.836489] \n");
}

TEST_CASE("raw: control bytes, backslash and invalid UTF-8 escaped, UTF-8/TAB kept",
          "[formatters]") {
    using namespace std::string_view_literals;
    const auto text = "esc\x1b[2J nul\0 del\x7f bad\xff c1\xc2\x9b caf\xc3\xa9\ttab C:\\dir"sv;
    CHECK(format_with(raw_formatter{}, kernel_record(text)) ==
          "<6>[    4.836489] esc\\x1b[2J nul\\x00 del\\x7f bad\\xff c1\\xc2\\x9b "
          "caf\xc3\xa9\ttab C:\\x5cdir\n");
    CHECK(format_with(raw_formatter{}, kernel_record("trunc\xe2\x82")) ==
          "<6>[    4.836489] trunc\\xe2\\x82\n");
}

TEST_CASE("raw: userspace record keeps its facility and whole text", "[formatters]") {
    auto r = kernel_record("myapp[42]: hello");
    r.facility = 1;
    CHECK(format_with(raw_formatter{}, r) == "<14>[    4.836489] myapp[42]: hello\n");
}

TEST_CASE("raw: full PRI up to 2047 and u64 limits", "[formatters]") {
    auto r = kernel_record("x");
    r.facility = 255;
    r.level = 7;
    r.seq = std::numeric_limits<std::uint64_t>::max();
    r.ts_usec = std::numeric_limits<std::uint64_t>::max();
    CHECK(format_with(raw_formatter{}, r) == "<2047>[18446744073709.551615] x\n");
    r.ts_usec = 0;
    r.facility = 0;
    r.level = 0;
    CHECK(format_with(raw_formatter{}, r) == "<0>[    0.000000] x\n");
}

TEST_CASE("raw: empty text still gives one line", "[formatters]") {
    CHECK(format_with(raw_formatter{}, kernel_record("")) == "<6>[    4.836489] \n");
    auto r = kernel_record("");
    r.ts_usec.reset();
    CHECK(format_with(raw_formatter{}, r) == "<6>\n");
}

TEST_CASE("raw: appends to the reused buffer", "[formatters]") {
    std::string out = "<6>[    1.000000] before\n";
    raw_formatter{}.format(kernel_record("a\nb"), live_time(), out);
    CHECK(out == "<6>[    1.000000] before\n<6>[    4.836489] a\n<6>[    4.836489] b\n");
}
