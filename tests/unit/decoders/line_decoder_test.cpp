#include "klog/decoders/line_decoder.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "owned_record.hpp"
#include "test_support.hpp"

using klog::decoders::line_decoder;

namespace {
klog_test::record parse(std::string_view line,
                   line_decoder::prefix mode = line_decoder::prefix::required) {
    return klog_test::record(line_decoder::parse_line(line, mode));
}

std::vector<klog_test::record> feed_all(const std::vector<std::string>& chunks) {
    line_decoder d;
    std::vector<klog_test::record> out;
    for (const auto& c : chunks)
        d.feed(c, [&](const klog::record_view& r) { out.emplace_back(r); });
    d.finish([&](const klog::record_view& r) { out.emplace_back(r); });
    return out;
}
}  // namespace

TEST_CASE("line: <N>[secs.usecs] text", "[decoders][line]") {
    const auto r = parse("<6>[    4.836489] klogd-sample: text");
    CHECK(r.level == 6);
    CHECK(r.facility == 0);
    CHECK(r.ts_usec == 4836489U);
    CHECK_FALSE(r.seq);
    CHECK(r.text == "klogd-sample: text");
    CHECK_FALSE(r.malformed);
}

TEST_CASE("line: multi-digit PRI up to 2047 (not only <N> with one digit)", "[decoders][line]") {
    const auto user = parse("<14>[    4.838514] myapp[42]: userspace line via kmsg");
    CHECK(user.facility == 1);
    CHECK(user.level == 6);
    const auto max = parse("<2047>x");
    CHECK(max.facility == 255);
    CHECK(max.level == 7);
    CHECK(max.text == "x");
    CHECK(parse("<2048>x").malformed);
    CHECK(parse("<2048>x").text == "<2048>x");
}

TEST_CASE("line: no timestamp (printk.time=0)", "[decoders][line]") {
    const auto r = parse("<4>no time here");
    CHECK_FALSE(r.ts_usec);
    CHECK(r.text == "no time here");
    const auto bracket = parse("<4>[not a time] text");
    CHECK_FALSE(bracket.ts_usec);
    CHECK(bracket.text == "[not a time] text");
}

TEST_CASE("line: caller id after the time (CONFIG_PRINTK_CALLER)", "[decoders][line]") {
    const auto t = parse("<6>[    0.000000][    T1] Linux version");
    CHECK(t.caller == "T1");
    CHECK(t.ts_usec == 0U);
    CHECK(t.text == "Linux version");
    const auto c = parse("<6>[   12.500000][    C1] on cpu");
    CHECK(c.caller == "C1");
    CHECK(c.ts_usec == 12500000U);
    CHECK(parse("<6>[    1.000000][ X1] t").text == "[ X1] t");
}

TEST_CASE("line: large and odd timestamps", "[decoders][line]") {
    CHECK(parse("<6>[18446744073709.551615] max").ts_usec == UINT64_MAX);
    CHECK_FALSE(parse("<6>[18446744073709.551616] over").ts_usec);
    CHECK(parse("<6>[1.5] short fraction").ts_usec == 1500000U);
    CHECK(parse("<6>[1.1234567] long fraction").ts_usec == 1123456U);
}

TEST_CASE("line: raw control bytes and NUL are kept as text", "[decoders][line]") {
    const std::string line("<11>[    4.837611] control \x01 bytes \x1b[31m and \0 nul", 50);
    const auto r = parse(line);
    CHECK(r.facility == 1);
    CHECK(r.level == 3);
    CHECK(r.text == std::string("control \x01 bytes \x1b[31m and \0 nul", 31));
}

TEST_CASE("line: empty text", "[decoders][line]") {
    CHECK(parse("<6>[    1.000000] ").text.empty());
    CHECK(parse("<6>[    1.000000]").text.empty());
    CHECK(parse("<6>").text.empty());
}

TEST_CASE("line: lines without <N> are malformed when required, plain when optional",
          "[decoders][line]") {
    const auto bad = parse("garbage line");
    CHECK(bad.malformed);
    CHECK(bad.text == "garbage line");
    const auto plain = parse("[    1.000000] plain dmesg", line_decoder::prefix::optional);
    CHECK_FALSE(plain.malformed);
    CHECK(plain.level == 6);
    CHECK(plain.ts_usec == 1000000U);
    CHECK(plain.text == "plain dmesg");
}

TEST_CASE("line: partial lines across reads are joined", "[decoders][line]") {
    const auto out = feed_all({"<6>[    1.0000", "00] first li", "ne\n<4>[    2.000000] sec",
                               "ond\n", "<3>third without newline"});
    REQUIRE(out.size() == 3);
    CHECK(out[0].text == "first line");
    CHECK(out[0].ts_usec == 1000000U);
    CHECK(out[1].text == "second");
    CHECK(out[1].level == 4);
    CHECK(out[2].text == "third without newline");
    CHECK(out[2].level == 3);
}

TEST_CASE("line: byte-by-byte feeding gives the same records", "[decoders][line]") {
    const std::string text = "<6>[    1.000000] a\n<4>[    1.000000] b\n<12>c\n";
    std::vector<std::string> bytes;
    for (char c : text) bytes.emplace_back(1, c);
    const auto one = feed_all({text});
    const auto split = feed_all(bytes);
    REQUIRE(one.size() == 3);
    REQUIRE(split.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(one[i].text == split[i].text);
        CHECK(one[i].level == split[i].level);
        CHECK(one[i].facility == split[i].facility);
    }
}

TEST_CASE("line: a multi-line record arrives as lines with the same prefix", "[decoders][line]") {
    const auto out =
        feed_all({"<4>[    1.675528] Unstable clock\n<4>[    1.675528] If you want\n"});
    REQUIRE(out.size() == 2);
    CHECK(out[0].ts_usec == out[1].ts_usec);
    CHECK(out[1].text == "If you want");
}

TEST_CASE("line: the real syslog(2) READ_ALL capture decodes", "[decoders][line][corpus]") {
    const auto all = klog_test::read_file(klog_test::data_path("corpus/syslog-read-all.txt"));
    const auto out = feed_all({all});
    CHECK(out.size() == 382);
    for (const auto& r : out) CHECK_FALSE(r.malformed);
    CHECK(out.back().text == "myapp[42]: userspace line via kmsg");
    CHECK(out.back().facility == 1);
}
