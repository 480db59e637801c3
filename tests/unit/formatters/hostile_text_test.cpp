// Issue 12, what a kernel message or a /dev/kmsg writer must never achieve in any format: forge a
// line, pass for klogd's own notice, or make its own `\xNN` characters read as an escaped byte.
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "formatter_fixtures.hpp"
#include "klog/formatters/format_kind.hpp"
#include "klog/formatters/json_formatter.hpp"
#include "klog/formatters/local_syslog_formatter.hpp"
#include "klog/formatters/raw_formatter.hpp"
#include "klog/formatters/rfc3164_formatter.hpp"
#include "klog/formatters/rfc5424_formatter.hpp"
#include "klog/formatters/text_escaper.hpp"
#include "klog/formatters/traditional_formatter.hpp"
#include "owned_record.hpp"

using namespace klog::formatters;
using namespace klog::formatters::test;
using namespace std::string_view_literals;

namespace {

const format_options options{"myhost", "b00t"};

format_options line_options() {
    format_options o = options;
    o.line_mode = true;
    return o;
}

/// What pipeline::notice() hands the outputs.
klog::record_view own_notice(std::string_view text) {
    klog::record_view r;
    r.level = 4;
    r.text = text;
    r.own = true;
    return r;
}

/// A record written to /dev/kmsg by a process: facility user, no kernel time in the line.
klog::record_view userspace(std::string_view text) {
    auto r = kernel_record(text);
    r.facility = 1;
    r.level = 4;
    return r;
}

constexpr auto notice_text = "klogd: missed 3 kernel messages (seq 4..6)"sv;

/// Every way a writer of /dev/kmsg (or kernel text printed without a time) could dress up as
/// the notice above.
std::vector<klog::record_view> lookalikes() {
    std::vector<klog::record_view> v;
    for (const auto text : {"kernel: klogd: missed 3 kernel messages (seq 4..6)"sv,
                            "klogd: missed 3 kernel messages (seq 4..6)"sv,
                            "klogd[1]: missed 3 kernel messages (seq 4..6)"sv,
                            "kernel[0]: klogd: missed 3 kernel messages (seq 4..6)"sv}) {
        v.push_back(userspace(text));
    }
    auto kernel = kernel_record(notice_text);  // /proc/kmsg with printk.time=0: no time
    kernel.ts_usec.reset();
    kernel.seq.reset();
    kernel.level = 4;
    v.push_back(kernel);
    return v;
}

}  // namespace

TEST_CASE("klogd's own notice has a mark no userspace or kernel record can carry",
          "[formatters][hostile]") {
    use_utc();
    const auto notice = own_notice(notice_text);
    const std::vector<std::pair<std::string, std::shared_ptr<formatter>>> formats = {
        {"traditional", std::make_shared<traditional_formatter>(options)},
        {"rfc3164", std::make_shared<rfc3164_formatter>(options)},
        {"raw", std::make_shared<raw_formatter>()},
        {"json", std::make_shared<json_formatter>(options)},
        {"rfc5424", std::make_shared<rfc5424_formatter>(options)},
        {"rfc5424 line mode", std::make_shared<rfc5424_formatter>(line_options())},
        {"local syslog", std::make_shared<local_syslog_formatter>()},
    };
    for (const auto& [name, f] : formats) {
        const std::string own = format_with(*f, notice);
        for (const auto& fake : lookalikes()) {
            INFO(name << ": " << fake.text << " (facility " << int(fake.facility) << ")");
            CHECK(format_with(*f, fake) != own);
        }
    }
    // The marks themselves.
    CHECK(format_with(traditional_formatter(options), notice) ==
          "Nov  4 05:31:02 myhost klogd: missed 3 kernel messages (seq 4..6)\n");
    CHECK(format_with(rfc3164_formatter(options), notice) ==
          "<4>Nov  4 05:31:02 myhost klogd: missed 3 kernel messages (seq 4..6)\n");
    CHECK(format_with(local_syslog_formatter(), notice) ==
          "<4>Nov  4 05:31:02 klogd: missed 3 kernel messages (seq 4..6)");
    CHECK(format_with(raw_formatter(), notice) ==
          "<4,klogd>klogd: missed 3 kernel messages (seq 4..6)\n");
    CHECK(format_with(rfc5424_formatter(options), notice) ==
          "<4>1 2026-11-04T05:31:02.123456Z myhost klogd - - [kmsg@32473 boot=\"b00t\"] "
          "missed 3 kernel messages (seq 4..6)");
    CHECK(format_with(json_formatter(options), notice) ==
          R"({"time":"2026-11-04T05:31:02.123456Z","time_estimated":false,"facility":0,)"
          R"("level":4,"flag":"-","origin":"klogd","boot_id":"b00t","host":"myhost",)"
          R"x("text":"missed 3 kernel messages (seq 4..6)"})x"
          "\n");
}

TEST_CASE("userspace records cannot take the tags kernel: or klogd:", "[formatters][hostile]") {
    use_utc();
    const traditional_formatter f(options);
    CHECK(format_with(f, userspace("kernel: klogd: missed 3")) ==
          "Nov  4 05:31:02 myhost kmsg: kernel: klogd: missed 3\n");
    CHECK(format_with(f, userspace("klogd[12]: hello")) ==
          "Nov  4 05:31:02 myhost kmsg: klogd[12]: hello\n");
    CHECK(format_with(f, userspace("kernelx: fine")) == "Nov  4 05:31:02 myhost kernelx: fine\n");
    const auto json_line = format_with(json_formatter({"h", ""}), userspace("kernel: x"));
    CHECK(json_line.find(R"("origin":"kmsg")") != std::string::npos);
    CHECK(json_line.find(R"("text":"kernel: x")") != std::string::npos);
    CHECK(format_with(rfc5424_formatter({"h", ""}), userspace("klogd[5]: x")) ==
          "<12>1 2026-11-04T05:31:02.123456Z h - - - [kmsg@32473 seq=\"376\" ts=\"4836489\"] "
          "klogd[5]: x");
    // The owning copy keeps the mark.
    const klog_test::record copy(own_notice(notice_text));
    CHECK(copy.view().own);
    CHECK_FALSE(copy.view().from_kernel());
    CHECK(copy.view().origin().ident == "klogd");
}

TEST_CASE("a backslash of the text is written backslash-x5c, so backslash-xNN is always an escape",
          "[formatters][hostile]") {
    use_utc();
    // The kernel's own four characters `\x1b` and a real ESC byte.
    const auto literal = kernel_record("a \\x1b b");
    const auto escape = kernel_record("a \x1b b");
    CHECK(text_escaper::escape("C:\\dir \\x41") == "C:\\x5cdir \\x5cx41");
    CHECK(format_with(raw_formatter(), literal) == "<6>[    4.836489] a \\x5cx1b b\n");
    CHECK(format_with(raw_formatter(), escape) == "<6>[    4.836489] a \\x1b b\n");
    for (const auto kind : {format_kind::traditional, format_kind::raw, format_kind::json,
                            format_kind::rfc3164, format_kind::rfc5424}) {
        const auto f = make_formatter(kind, line_options());
        INFO("format kind " << static_cast<int>(kind));
        CHECK(format_with(*f, literal) != format_with(*f, escape));
    }
    // JSON and RFC 5424 PARAM-VALUEs: an invalid byte is `\xNN` once decoded, so the text's
    // own backslash is too.
    std::string json;
    json_formatter::append_string_contents(json, "\\xff \xff \\");
    CHECK(json == R"(\\x5cxff \\xff \\x5c)");
    std::string sd;
    rfc5424_formatter::append_param_value(sd, "\\xff \xff \"]");
    CHECK(sd == R"(\\x5cxff \\xff \"\])");
}

TEST_CASE("rfc5424 in line mode: one escaped line per record", "[formatters][hostile]") {
    const rfc5424_formatter f(line_options());
    auto r = kernel_record("one\nforged <6>1 line\r\x1b[2J\0nul \\ \xff caf\xc3\xa9\ttab"sv);
    r.seq.reset();
    r.ts_usec.reset();
    CHECK(format_with(f, r) ==
          "<6>1 2026-11-04T05:31:02.123456Z myhost kernel - - [kmsg@32473 boot=\"b00t\"] "
          "one\\x0aforged <6>1 line\\x0d\\x1b[2J\\x00nul \\x5c \\xff caf\xc3\xa9\ttab\n");
    r.text = "";
    CHECK(format_with(f, r) ==
          "<6>1 2026-11-04T05:31:02.123456Z myhost kernel - - [kmsg@32473 boot=\"b00t\"]\n");
    // Through make_formatter, as an output gets it; record mode stays the default.
    r.text = "a\nb";
    const auto lines = make_formatter(format_kind::rfc5424, line_options());
    CHECK(format_with(*lines, r).find("a\\x0ab\n") != std::string::npos);
    const auto records = make_formatter(format_kind::rfc5424, options);
    CHECK(format_with(*records, r).ends_with(" a\nb"));
}
