#include "klog/formatters/rfc5424_formatter.hpp"

#include <catch2/catch.hpp>
#include <limits>
#include <string>

#include "formatter_fixtures.hpp"

using namespace klog::formatters;
using namespace klog::formatters::test;
using namespace std::string_view_literals;

namespace {
const format_options options{"myhost", "0a1b2c3d-4e5f-6789-abcd-ef0123456789"};
constexpr auto pci_dict = "SUBSYSTEM=pci\nDEVICE=+pci:0000:00:1f.3"sv;
}  // namespace

TEST_CASE("rfc5424: kernel record with every SD parameter", "[formatters]") {
    const rfc5424_formatter f(options);
    auto r = kernel_record("snd_hda_intel 0000:00:1f.3: enabling device");
    r.dictionary = klog::dictionary_view(pci_dict, 2);
    CHECK(format_with(f, r) ==
          "<6>1 2026-11-04T05:31:02.123456Z myhost kernel - - [kmsg@32473 seq=\"376\" "
          "ts=\"4836489\" boot=\"0a1b2c3d-4e5f-6789-abcd-ef0123456789\" subsystem=\"pci\" "
          "device=\"+pci:0000:00:1f.3\"] snd_hda_intel 0000:00:1f.3: enabling device");
}

TEST_CASE("rfc5424: caller and estimated time", "[formatters]") {
    auto r = kernel_record("hello");
    r.caller = "T1";
    CHECK(format_with(rfc5424_formatter(options), r, {wall, true}) ==
          "<6>1 2026-11-04T05:31:02.123456Z myhost kernel - - [kmsg@32473 seq=\"376\" "
          "ts=\"4836489\" caller=\"T1\" boot=\"0a1b2c3d-4e5f-6789-abcd-ef0123456789\" "
          "estimated=\"1\"] hello");
}

TEST_CASE("rfc5424: no parameters at all gives the nil SD, no hostname gives '-'", "[formatters]") {
    auto r = kernel_record("hello");
    r.seq.reset();
    r.ts_usec.reset();
    CHECK(format_with(rfc5424_formatter({"", ""}), r) ==
          "<6>1 2026-11-04T05:31:02.123456Z - kernel - - - hello");
    r.ts_usec = 1;
    CHECK(format_with(rfc5424_formatter({"", ""}), r) ==
          "<6>1 2026-11-04T05:31:02.123456Z - kernel - - [kmsg@32473 ts=\"1\"] hello");
}

TEST_CASE("rfc5424: MSG is the text bytes as they are", "[formatters]") {
    const rfc5424_formatter f({"h", ""});
    auto r = kernel_record("");
    r.seq.reset();
    r.ts_usec.reset();
    r.text = "Call Trace:\n <TASK>\x1b\xff\0\xc3\xa9\t\\"sv;
    CHECK(
        format_with(f, r) ==
        "<6>1 2026-11-04T05:31:02.123456Z h kernel - - - Call Trace:\n <TASK>\x1b\xff\0\xc3\xa9\t\\"sv);
    r.text = "";
    CHECK(format_with(f, r) == "<6>1 2026-11-04T05:31:02.123456Z h kernel - - -");
}

TEST_CASE("rfc5424: userspace record: APP-NAME, PROCID and the message", "[formatters]") {
    const rfc5424_formatter f({"h", ""});
    auto r = kernel_record("myapp[42]: hello");
    r.facility = 1;
    CHECK(format_with(f, r) ==
          "<14>1 2026-11-04T05:31:02.123456Z h myapp 42 - [kmsg@32473 seq=\"376\" "
          "ts=\"4836489\"] hello");
    r.text = "myapp: hello";
    CHECK(format_with(f, r) ==
          "<14>1 2026-11-04T05:31:02.123456Z h myapp - - [kmsg@32473 seq=\"376\" "
          "ts=\"4836489\"] hello");
    r.text = "no tag";
    CHECK(format_with(f, r) ==
          "<14>1 2026-11-04T05:31:02.123456Z h - - - [kmsg@32473 seq=\"376\" "
          "ts=\"4836489\"] no tag");
    r.text = "\xc3\xa9t\xc3\xa9[1]: x";
    CHECK(format_with(f, r) ==
          "<14>1 2026-11-04T05:31:02.123456Z h __t__ 1 - [kmsg@32473 seq=\"376\" "
          "ts=\"4836489\"] x");
    const std::string long_ident(60, 'a');
    const std::string text = long_ident + ": x";
    r.text = text;
    CHECK(format_with(f, r) == "<14>1 2026-11-04T05:31:02.123456Z h " + std::string(48, 'a') +
                                   " - - [kmsg@32473 seq=\"376\" ts=\"4836489\"] x");
}

TEST_CASE("rfc5424: facility above 23 sent as user, kept in SD", "[formatters]") {
    auto r = kernel_record("x");
    r.facility = 255;
    r.level = 7;
    r.seq = std::numeric_limits<std::uint64_t>::max();
    r.ts_usec = std::numeric_limits<std::uint64_t>::max();
    CHECK(format_with(rfc5424_formatter({"h", ""}), r) ==
          "<15>1 2026-11-04T05:31:02.123456Z h - - - [kmsg@32473 seq=\"18446744073709551615\" "
          "ts=\"18446744073709551615\" facility=\"255\"] x");
}

TEST_CASE("rfc5424: SD-PARAM values escape quote, backslash, bracket and bad bytes",
          "[formatters]") {
    auto r = kernel_record("x");
    r.seq.reset();
    r.ts_usec.reset();
    constexpr auto dict = "SUBSYSTEM=a\"b\\c]d\nDEVICE=c\x01\xff\xc2\x9b\xc3\xa9"sv;
    r.dictionary = klog::dictionary_view(dict, 2);
    r.caller = "T\"1";
    CHECK(format_with(rfc5424_formatter({"h", "b]\""}), r) ==
          "<6>1 2026-11-04T05:31:02.123456Z h kernel - - [kmsg@32473 caller=\"T\\\"1\" "
          "boot=\"b\\]\\\"\" subsystem=\"a\\\"b\\\\x5cc\\]d\" "
          "device=\"c\\\\x01\\\\xff\\\\xc2\\\\x9b\xc3\xa9\"] x");
    std::string out;
    rfc5424_formatter::append_param_value(out, "p\"q");
    CHECK(out == "p\\\"q");
}

TEST_CASE("rfc5424: timestamp in UTC, clamped to four-digit years", "[formatters]") {
    auto r = kernel_record("x");
    r.seq.reset();
    r.ts_usec.reset();
    const rfc5424_formatter f({"h", ""});
    CHECK(format_with(f, r, {0, false}) == "<6>1 1970-01-01T00:00:00.000000Z h kernel - - - x");
    CHECK(format_with(f, r, {-1, false}) == "<6>1 1969-12-31T23:59:59.999999Z h kernel - - - x");
    CHECK(format_with(f, r, {951'782'400'000'001LL, false}) ==  // leap day 2000
          "<6>1 2000-02-29T00:00:00.000001Z h kernel - - - x");
    CHECK(format_with(f, r, {std::numeric_limits<std::int64_t>::max(), false}) ==
          "<6>1 9999-12-31T23:59:59.999999Z h kernel - - - x");
    CHECK(format_with(f, r, {std::numeric_limits<std::int64_t>::min(), false}) ==
          "<6>1 0000-01-01T00:00:00.000000Z h kernel - - - x");
}
