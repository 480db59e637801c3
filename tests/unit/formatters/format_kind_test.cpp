#include "klog/formatters/format_kind.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "formatter_fixtures.hpp"
#include "klog/formatters/json_formatter.hpp"
#include "klog/formatters/raw_formatter.hpp"
#include "klog/formatters/rfc3164_formatter.hpp"
#include "klog/formatters/rfc5424_formatter.hpp"
#include "klog/formatters/traditional_formatter.hpp"

using namespace klog::formatters;
using namespace klog::formatters::test;

TEST_CASE("format_kind: names round-trip", "[formatters]") {
    for (const auto kind : {format_kind::traditional, format_kind::raw, format_kind::json,
                            format_kind::rfc3164, format_kind::rfc5424}) {
        const auto parsed = parse_format_kind(format_kind_name(kind));
        REQUIRE(parsed);
        CHECK(*parsed == kind);
        CHECK(format_kind_names().find(format_kind_name(kind)) != std::string_view::npos);
    }
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
        CHECK(f->line_oriented() == expected.line_oriented());
        CHECK(format_with(*f, r) == format_with(expected, r));
    };
    same(format_kind::traditional, traditional_formatter(options));
    same(format_kind::raw, raw_formatter());
    same(format_kind::json, json_formatter(options));
    same(format_kind::rfc3164, rfc3164_formatter(options));
    same(format_kind::rfc5424, rfc5424_formatter(options));
    CHECK(make_formatter(format_kind::traditional, options)->line_oriented());
    CHECK_FALSE(make_formatter(format_kind::json, options)->line_oriented());
}
