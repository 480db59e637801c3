// klog::text::needle_set against the plain answer (string_view::find for each needle at every
// position) on every line of the Debian capture, on lines built from needle pieces, and on the
// edges: a needle at the very start (its anchor is not its first byte), overlapping needles,
// needles sharing an anchor byte, bytes outside ASCII.
#include "klog/text/needle_set.hpp"

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

using klog::text::needle_set;

constexpr std::array<std::string_view, 9> needles{"[<",
                                                  "RIP: 0010:",
                                                  "pc : ",
                                                  "lr : ",
                                                  " detected stalls on CPUs/tasks",
                                                  "BUG: soft lockup - CPU#",
                                                  " invoked oom-killer: ",
                                                  "Killed process ",
                                                  "aa"};
constexpr needle_set<needles.size()> set(needles);

/// (needle, position) of every occurrence, by plain search.
std::vector<std::pair<std::size_t, std::size_t>> plain(std::string_view text) {
    std::vector<std::pair<std::size_t, std::size_t>> all;
    for (std::size_t i = 0; i < needles.size(); ++i) {
        for (auto at = text.find(needles[i]); at != std::string_view::npos;
             at = text.find(needles[i], at + 1)) {
            all.emplace_back(i, at);
        }
    }
    std::sort(all.begin(), all.end());
    return all;
}

/// By for_each, which on this CPU may look anchors up with a byte shuffle; the same answer by
/// for_each_comparing (what a CPU without one runs) is required of every line too.
std::vector<std::pair<std::size_t, std::size_t>> fast(std::string_view text) {
    std::vector<std::pair<std::size_t, std::size_t>> all;
    set.for_each(text, [&](std::size_t i, std::size_t at) { all.emplace_back(i, at); });
    std::vector<std::pair<std::size_t, std::size_t>> comparing;
    set.for_each_comparing(text,
                           [&](std::size_t i, std::size_t at) { comparing.emplace_back(i, at); });
    REQUIRE(all == comparing);  // the same calls in the same order
    std::vector<std::pair<std::size_t, std::size_t>> narrow;
    set.for_each_narrow(text, [&](std::size_t i, std::size_t at) { narrow.emplace_back(i, at); });
    REQUIRE(all == narrow);  // 32 bytes at a time (AVX2) or 16: the same
    std::sort(all.begin(), all.end());
    return all;
}

std::uint64_t plain_mask(std::string_view text) {
    std::uint64_t m = 0;
    for (std::size_t i = 0; i < needles.size(); ++i) {
        if (text.find(needles[i]) != std::string_view::npos) m |= std::uint64_t{1} << i;
    }
    return m;
}

}  // namespace

TEST_CASE("needle set finds every occurrence the plain search finds in the Debian capture",
          "[text]") {
    std::ifstream in(std::string(KLOG_TEST_DATA_DIR) + "/corpus/kmsg.records", std::ios::binary);
    REQUIRE(in);
    std::string line;
    std::size_t lines = 0;
    std::size_t with_hits = 0;
    while (std::getline(in, line)) {
        ++lines;
        const auto expected = plain(line);
        if (!expected.empty()) ++with_hits;
        REQUIRE(fast(line) == expected);
        REQUIRE(set.found(line) == plain_mask(line));
    }
    CHECK(lines > 400);
    CHECK(with_hits > 0);  // the capture holds lines with `[<` and the like
}

TEST_CASE("needle set at the edges of a line and where needles overlap", "[text]") {
    // "BUG: soft lockup - CPU#" is anchored on its '#', 22 bytes in: found at position 0.
    CHECK(fast("BUG: soft lockup - CPU#0 stuck") == plain("BUG: soft lockup - CPU#0 stuck"));
    CHECK(fast("BUG: soft lockup - CPU#").size() == 1);
    // The anchor without the rest, or the rest cut short by the end of the line: nothing.
    CHECK(fast("#").empty());
    CHECK(fast("soft lockup - CPU#").empty());
    CHECK(fast("Killed proces").empty());
    // Overlapping occurrences of one needle, and two needles sharing the anchor ':'.
    CHECK(fast("aaaa") == plain("aaaa"));
    CHECK(fast("aaaa").size() == 3);
    CHECK(fast("pc : lr : [<[<") == plain("pc : lr : [<[<"));
    CHECK(fast("pc : lr : [<[<").size() == 4);
    // Bytes outside ASCII, NUL and an empty line.
    const std::string odd("\xff\x80[<\0pc : \xfe", 12);
    CHECK(fast(odd) == plain(odd));
    CHECK(fast("").empty());
}

TEST_CASE("needle set agrees with the plain search on lines built from needle pieces", "[text]") {
    std::mt19937 rng(20261130);
    std::vector<std::string> pieces{" ", "#", ":", "[", "<", "a", "CPU", "-", "\xff"};
    for (const auto n : needles) {
        pieces.emplace_back(n);
        pieces.emplace_back(n.substr(0, n.size() / 2));
        pieces.emplace_back(n.substr(n.size() / 2));
    }
    for (int round = 0; round < 20000; ++round) {
        std::string text;
        const int parts = static_cast<int>(rng() % 8);
        for (int k = 0; k < parts; ++k) text += pieces[rng() % pieces.size()];
        REQUIRE(fast(text) == plain(text));
        REQUIRE(set.found(text) == plain_mask(text));
    }
}

TEST_CASE(
    "needle set finds each needle at every position of lines up to three wide blocks "
    "long, whole or cut short by the line's end, among NUL and other bytes",
    "[text]") {
    // The last bytes of a line (a 16-byte block or less) are compared from a copy padded with
    // zeros: the padding must neither hide a needle that ends the line nor make one up. With
    // AVX2, 32-byte blocks come first and the rest is done 16 bytes at a time: a needle across
    // each of those seams too.
    const std::string fillers[] = {std::string(80, '\0'), std::string(80, 'x'),
                                   std::string(80, '#')};
    for (const auto n : needles) {
        for (const auto& filler : fillers) {
            for (std::size_t before = 0; before <= 70; ++before) {
                for (std::size_t after = 0; after <= 18; ++after) {
                    const std::string whole =
                        filler.substr(0, before) + std::string(n) + filler.substr(0, after);
                    REQUIRE(fast(whole) == plain(whole));
                    REQUIRE(!fast(whole).empty());
                    const std::string cut =
                        filler.substr(0, before) + std::string(n.substr(0, n.size() - 1));
                    REQUIRE(fast(cut) == plain(cut));
                }
            }
        }
    }
}

TEST_CASE("needle set with more anchors than buckets: they share them, nothing is missed",
          "[text]") {
    // 24 needles with 24 different anchors share the shuffle's eight buckets three to one: more
    // candidates, each compared, and the same answer as the plain search and as comparing.
    static constexpr std::array<std::string_view, 24> many{
        "A0", "B1", "C2", "D3", "E4", "F5", "G6", "H7", "I8", "J9", "K#", "L/",
        "M<", "N>", "O@", "P!", "Q?", "R%", "S&", "T*", "U+", "V=", "W~", "X^"};
    static constexpr needle_set<many.size()> big(many);
    std::mt19937 rng(11);
    std::string alphabet;
    for (const auto n : many) alphabet += n;
    alphabet += " aZ\xff";
    for (int round = 0; round < 20000; ++round) {
        std::string text(rng() % 70, ' ');
        for (auto& c : text) c = alphabet[rng() % alphabet.size()];
        std::vector<std::pair<std::size_t, std::size_t>> want;
        for (std::size_t i = 0; i < many.size(); ++i) {
            for (auto at = text.find(many[i]); at != std::string::npos;
                 at = text.find(many[i], at + 1)) {
                want.emplace_back(i, at);
            }
        }
        std::sort(want.begin(), want.end());
        std::vector<std::pair<std::size_t, std::size_t>> got;
        std::vector<std::pair<std::size_t, std::size_t>> comparing;
        big.for_each(text, [&](std::size_t i, std::size_t at) { got.emplace_back(i, at); });
        big.for_each_comparing(
            text, [&](std::size_t i, std::size_t at) { comparing.emplace_back(i, at); });
        REQUIRE(got == comparing);
        std::vector<std::pair<std::size_t, std::size_t>> narrow;
        big.for_each_narrow(text,
                            [&](std::size_t i, std::size_t at) { narrow.emplace_back(i, at); });
        REQUIRE(got == narrow);
        std::sort(got.begin(), got.end());
        REQUIRE(got == want);
    }
}
