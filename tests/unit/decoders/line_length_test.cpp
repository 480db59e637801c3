// Issue 12: a /proc/kmsg stand-in (or a broken kernel) that never sends a newline must not make
// klogd hold the line in memory without bound. Lines past the kernel's own limit are cut.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "klog/decoders/line_decoder.hpp"
#include "owned_record.hpp"

using klog::decoders::line_decoder;

TEST_CASE("line: 100 MB without a newline is held to 8 KiB, cut once, and reading goes on",
          "[decoders][line][hostile]") {
    line_decoder d;
    std::vector<klog_test::record> out;
    const auto keep = [&](const klog::record_view& r) { out.emplace_back(r); };
    d.feed("<4>[    1.000000] ", keep);
    const std::string chunk(64 * 1024, 'A');
    std::size_t most_held = 0;
    for (int i = 0; i < 1600; ++i) {  // 100 MiB, as a stand-in could send it
        d.feed(chunk, keep);
        most_held = std::max(most_held, d.pending());
    }
    CHECK(most_held <= 8192);
    d.feed("tail of the long line\n<6>[    2.000000] next\n", keep);
    REQUIRE(out.size() == 2);
    CHECK(out[0].level == 4);
    CHECK(out[0].ts_usec == 1000000U);
    // Sizes, not strings: a failure must not print 100 MB.
    CHECK(out[0].text.size() == 8192 - 18);
    CHECK(out[0].text.find_first_not_of('A') == std::string::npos);
    CHECK(out[0].malformed);
    CHECK(out[1].text == "next");
    CHECK_FALSE(out[1].malformed);
    CHECK(d.pending() == 0);
}

TEST_CASE("line: cut lines are counted, the limit itself is kept whole", "[decoders][line]") {
    STATIC_REQUIRE(line_decoder::max_line == 8192);
    line_decoder d;
    std::vector<klog_test::record> out;
    const auto keep = [&](const klog::record_view& r) { out.emplace_back(r); };
    const std::string exact = "<6>" + std::string(line_decoder::max_line - 3, 'x');
    const std::string longer = "<6>" + std::string(3 * line_decoder::max_line, 'y');
    // Complete lines inside one chunk, one split exactly at the limit, one across chunks.
    d.feed(exact + "\n" + longer + "\n<6>after\n", keep);
    d.feed(exact, keep);
    CHECK(d.pending() == line_decoder::max_line);
    d.feed("\n", keep);
    d.feed(exact, keep);
    d.feed("z", keep);
    d.feed(std::string(100000, 'z'), keep);
    d.feed("zz\n<6>last", keep);
    d.finish(keep);
    REQUIRE(out.size() == 6);
    CHECK(out[0].text.size() == line_decoder::max_line - 3);
    CHECK_FALSE(out[0].malformed);
    CHECK(out[1].text.size() == line_decoder::max_line - 3);
    CHECK(out[1].text.find_first_not_of('y') == std::string::npos);
    CHECK(out[1].malformed);
    CHECK(out[2].text == "after");
    CHECK_FALSE(out[3].malformed);
    CHECK(out[4].text.size() == line_decoder::max_line - 3);
    CHECK(out[4].malformed);
    CHECK(out[5].text == "last");
    CHECK(d.cut_lines() == 2);
}
