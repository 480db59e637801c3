#include "klog/formatters/format_kind.hpp"

#include <catch2/catch.hpp>
#include <algorithm>
#include <string>
#include <vector>

#include "formatter_fixtures.hpp"
#include "klog/formatters/json_formatter.hpp"
#include "klog/formatters/raw_formatter.hpp"
#include "klog/formatters/rfc3164_formatter.hpp"
#include "klog/formatters/rfc5424_formatter.hpp"
#include "klog/formatters/traditional_formatter.hpp"

using namespace klog::formatters;
using namespace klog::formatters::test;

TEST_CASE("format_kind: names round-trip", "[formatters]") {
    // Every name listed (in --help and errors) is one that parses, and each parses to its own.
    std::vector<format_kind> seen;
    std::string_view names = format_kind_names();
    while (!names.empty()) {
        const auto comma = names.find(", ");
        const auto parsed = parse_format_kind(names.substr(0, comma));
        REQUIRE(parsed);
        CHECK(std::find(seen.begin(), seen.end(), *parsed) == seen.end());
        seen.push_back(*parsed);
        names.remove_prefix(comma == std::string_view::npos ? names.size() : comma + 2);
    }
    CHECK(seen.size() == 5);
    CHECK(parse_format_kind("traditional") == format_kind::traditional);
    CHECK(parse_format_kind("rfc5424") == format_kind::rfc5424);
    CHECK_FALSE(parse_format_kind(""));
    CHECK_FALSE(parse_format_kind("JSON"));
    CHECK_FALSE(parse_format_kind("raw "));
    CHECK_FALSE(parse_format_kind("rfc"));
}

TEST_CASE("make_formatter builds the named format", "[formatters]") {
    use_utc();
    const format_options options{"h", "b"};
    const auto r = kernel_record("x\ny");
    const auto same = [&](format_kind kind, const formatter& expected) {
        const auto f = make_formatter(kind, options);
        REQUIRE(f);
        CHECK(format_with(*f, r) == format_with(expected, r));
    };
    same(format_kind::traditional, traditional_formatter(options));
    same(format_kind::raw, raw_formatter());
    same(format_kind::json, json_formatter(options));
    same(format_kind::rfc3164, rfc3164_formatter(options));
    same(format_kind::rfc5424, rfc5424_formatter(options));
}
