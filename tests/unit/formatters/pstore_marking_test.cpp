// The previous boot's records from pstore are marked in every format, where no kernel or
// userspace text can reach; a userspace writer claiming the ident `pstore` is not.
#include <catch2/catch.hpp>

#include "formatter_fixtures.hpp"
#include "klog/formatters/format_kind.hpp"
#include "klog/formatters/local_syslog_formatter.hpp"

using namespace klog::formatters;
using namespace klog::formatters::test;

TEST_CASE("pstore records are marked in every format", "[formatters][pstore]") {
    use_utc();
    format_options o;
    o.hostname = "host";
    o.line_mode = true;
    auto r = kernel_record("Kernel panic - not syncing: sysrq triggered crash");
    r.level = 0;
    r.seq.reset();
    r.pstore = true;
    CHECK(format_with(*make_formatter(format_kind::raw, o), r) ==
          "<0,pstore>[    4.836489] Kernel panic - not syncing: sysrq triggered crash\n");
    CHECK(format_with(*make_formatter(format_kind::traditional, o), r) ==
          "Nov  4 05:31:02 host pstore: [    4.836489] Kernel panic - not syncing: sysrq triggered crash\n");
    CHECK(format_with(*make_formatter(format_kind::rfc3164, o), r).find(" host pstore: [    4.836489] Kernel") !=
          std::string::npos);
    CHECK(format_with(*make_formatter(format_kind::json, o), r).find("\"origin\":\"pstore\"") !=
          std::string::npos);
    CHECK(format_with(*make_formatter(format_kind::rfc5424, o), r).find(" host pstore - - [kmsg@32473") !=
          std::string::npos);
    CHECK(format_with(local_syslog_formatter{}, r).find("pstore: ") != std::string::npos);

    // A userspace record that claims the ident, today: no mark.
    auto u = kernel_record("pstore: Kernel panic - not syncing: forged");
    u.facility = 1;
    u.level = 0;
    CHECK(format_with(*make_formatter(format_kind::raw, o), u).rfind("<8>", 0) == 0);
    CHECK(format_with(*make_formatter(format_kind::traditional, o), u).find(" kmsg: pstore: ") != std::string::npos);
    CHECK(format_with(*make_formatter(format_kind::json, o), u).find("\"origin\":\"kmsg\"") != std::string::npos);
    CHECK(format_with(*make_formatter(format_kind::rfc5424, o), u).find(" host - - - [kmsg@32473") != std::string::npos);
}
