// symbol_file::parse_line has fast paths (16 hex digits at once, blanks found 16 bytes at a
// time); these tests hold it against the plain byte loop it replaced, kept here as
// reference_parse_line, on every line of the captured symbol files and on a few hundred
// thousand generated hostile lines: same status, same address, type, name and module (the
// same bytes of the input), and `out` untouched when the line is no symbol. Each line is
// parsed from a heap buffer of exactly its size, so that a read past its end is an ASan error.
// The line loops of parse() and parse_file() are held against a plain split on '\n'.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "klog/symbols/symbol_file.hpp"
#include "test_support.hpp"

using namespace klog::symbols;

namespace {

// The parser before the fast paths, byte for byte.
bool reference_is_space(char c) noexcept { return c == ' ' || c == '\t'; }

int reference_hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

symbol_file::status reference_parse_line(std::string_view text, symbol_file::line& out) noexcept {
    using status = symbol_file::status;
    const char* p = text.data();
    const char* end = p + text.size();
    if (p != end && end[-1] == '\r') --end;
    while (p != end && reference_is_space(*p)) ++p;
    if (p == end) return status::blank;

    std::uint64_t address = 0;
    const char* digits = p;
    for (int d; p != end && (d = reference_hex_digit(*p)) >= 0; ++p) {
        address = (address << 4) | static_cast<std::uint64_t>(d);
    }
    if (p == digits || p - digits > 16) return status::malformed;

    if (p == end || !reference_is_space(*p)) return status::malformed;
    while (p != end && reference_is_space(*p)) ++p;
    if (end - p < 2 || !reference_is_space(p[1])) return status::malformed;
    const char type = *p;
    const bool letter = (type >= 'A' && type <= 'Z') || (type >= 'a' && type <= 'z');
    if (!letter && type != '?' && type != '-') return status::malformed;
    p += 2;
    while (p != end && reference_is_space(*p)) ++p;

    const char* name = p;
    while (p != end && !reference_is_space(*p)) ++p;
    if (p == name) return status::malformed;
    const char* name_end = p;

    while (p != end && reference_is_space(*p)) ++p;
    std::string_view module;
    if (p != end) {
        const char* column = p;
        while (p != end && !reference_is_space(*p)) ++p;
        if (p - column < 3 || *column != '[' || p[-1] != ']') return status::malformed;
        module = std::string_view(column + 1, static_cast<std::size_t>(p - column - 2));
        while (p != end && reference_is_space(*p)) ++p;
        if (p != end) return status::malformed;
    }

    out.address = address;
    out.type = type;
    out.name = std::string_view(name, static_cast<std::size_t>(name_end - name));
    out.module = module;
    return status::symbol;
}

// The line loop of parse() before: a plain split on '\n'.
struct reference_result {
    std::vector<std::string> symbols;  // "address type name module" of each symbol
    std::vector<std::string> diagnostics;
    std::size_t malformed = 0;
};

std::string describe(const symbol_file::line& l) {
    return std::to_string(l.address) + " " + std::string(1, l.type) + " " + std::string(l.name) +
           " [" + std::string(l.module) + "]";
}

reference_result reference_parse(std::string_view text, std::string_view source) {
    reference_result r;
    std::size_t line_number = 0;
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        ++line_number;
        symbol_file::line l;
        switch (reference_parse_line(text.substr(0, nl), l)) {
            case symbol_file::status::symbol:
                r.symbols.push_back(describe(l));
                break;
            case symbol_file::status::blank:
                break;
            case symbol_file::status::malformed:
                if (++r.malformed <= symbol_file::max_reported_lines) {
                    r.diagnostics.push_back(std::string(source) + ":" +
                                            std::to_string(line_number) + ": malformed symbol line");
                }
                break;
        }
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    }
    if (r.malformed > symbol_file::max_reported_lines) {
        r.diagnostics.push_back(std::string(source) + ": " +
                                std::to_string(r.malformed - symbol_file::max_reported_lines) +
                                " more malformed lines not shown");
    }
    return r;
}

// Both parsers on one line from a buffer of exactly its size; false (with the line in the
// report) when they differ in anything.
std::size_t compared = 0;

bool same_parse(std::string_view text) {
    ++compared;
    const std::unique_ptr<char[]> exact(new char[text.size() == 0 ? 1 : text.size()]);
    std::copy(text.begin(), text.end(), exact.get());
    const std::string_view line(exact.get(), text.size());
    const auto sentinel = [&] {
        symbol_file::line l;
        l.address = 0x5a5a5a5a5a5a5a5aULL;
        l.type = '#';
        l.name = line.substr(0, 0);
        l.module = line.substr(line.size());
        return l;
    };
    symbol_file::line want = sentinel();
    symbol_file::line got = sentinel();
    const auto want_status = reference_parse_line(line, want);
    const auto got_status = symbol_file::parse_line(line, got);
    const bool same = want_status == got_status && want.address == got.address &&
                      want.type == got.type && want.name.data() == got.name.data() &&
                      want.name.size() == got.name.size() &&
                      want.module.data() == got.module.data() &&
                      want.module.size() == got.module.size();
    if (!same) {
        std::string shown;
        for (const char c : text) {
            const auto u = static_cast<unsigned char>(c);
            if (u >= 0x20 && u < 0x7f && c != '\\') {
                shown += c;
            } else {
                static constexpr char hex[] = "0123456789abcdef";
                shown += "\\x";
                shown += hex[u >> 4];
                shown += hex[u & 15];
            }
        }
        UNSCOPED_INFO("line: \"" << shown << "\" status " << static_cast<int>(want_status)
                                 << " vs " << static_cast<int>(got_status));
    }
    return same;
}

// Bytes that decide the scans: every hex digit, the bytes either side of each hex range,
// blanks, '\r', the module brackets, type letters, '?', '-', NUL, bytes >= 0x80 (negative as
// char), and any byte now and then.
char hostile_byte(std::mt19937_64& rng) {
    static constexpr std::string_view weighted =
        "0123456789abcdefABCDEF0123456789abcdef"
        "/:@G`g \t \t  \r[]][TtDdRrBbWwAaUuNnVv?-_.x\n";
    const auto pick = rng() % 64;
    if (pick == 0) return static_cast<char>(rng() & 0xff);
    if (pick == 1) return '\0';
    if (pick == 2) return static_cast<char>(0x80 | (rng() & 0x7f));
    return weighted[rng() % weighted.size()];
}

std::string hex_digits(std::mt19937_64& rng, std::size_t n) {
    static constexpr std::string_view lower = "0123456789abcdef";
    static constexpr std::string_view upper = "0123456789ABCDEF";
    const bool mixed = rng() % 4 == 0;
    const std::string_view set = rng() % 3 == 0 ? upper : lower;
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
        s += (mixed ? (rng() % 2 ? upper : lower) : set)[rng() % 16];
    }
    return s;
}

std::string blanks(std::mt19937_64& rng, std::size_t most) {
    std::string s;
    const std::size_t n = rng() % (most + 1);
    for (std::size_t i = 0; i < n; ++i) s += rng() % 3 == 0 ? '\t' : ' ';
    return s;
}

std::string name_like(std::mt19937_64& rng, std::size_t most) {
    static constexpr std::string_view chars =
        "abcdefghijklmnopqrstuvwxyz_ABCDEFXYZ0123456789.$[]";
    std::string s;
    const std::size_t n = rng() % (most + 1);
    for (std::size_t i = 0; i < n; ++i) s += chars[rng() % chars.size()];
    return s;
}

// A line close to the format: blanks, 0-20 digits (15, 16 and 17 often), blanks, a type,
// blanks, a name, a module column in some shape, blanks, '\r'; then a few bytes replaced,
// inserted or removed.
std::string near_line(std::mt19937_64& rng) {
    std::string s;
    if (rng() % 4 == 0) s += blanks(rng, 3);
    static constexpr std::size_t digit_counts[] = {16, 16, 16, 16, 15, 17, 8, 1, 0, 20, 12, 16};
    const std::size_t digits = rng() % 5 == 0 ? rng() % 21 : digit_counts[rng() % 12];
    s += hex_digits(rng, digits);
    s += rng() % 5 == 0 ? blanks(rng, 3) : std::string(1, rng() % 4 == 0 ? '\t' : ' ');
    static constexpr std::string_view types = "TtDdRrBbWwVvAaUuNn?-1Z_ ";
    s += types[rng() % types.size()];
    if (rng() % 6 == 0) s += hostile_byte(rng);
    s += rng() % 5 == 0 ? blanks(rng, 3) : std::string(1, rng() % 4 == 0 ? '\t' : ' ');
    s += name_like(rng, rng() % 3 == 0 ? 40 : 24);
    switch (rng() % 8) {
        case 0:
            s += "\t[" + name_like(rng, 12) + "]";
            break;
        case 1:
            s += blanks(rng, 2) + "[" + name_like(rng, 3);
            break;
        case 2:
            s += blanks(rng, 2) + "[]" + blanks(rng, 2);
            break;
        case 3:
            s += blanks(rng, 2) + "[" + name_like(rng, 6) + "]" + blanks(rng, 2) +
                 name_like(rng, 4);
            break;
        default:
            break;
    }
    if (rng() % 4 == 0) s += blanks(rng, 3);
    if (rng() % 4 == 0) s += '\r';
    if (rng() % 8 == 0) s += '\r';
    const std::size_t edits = rng() % 3 == 0 ? rng() % 4 : 0;
    for (std::size_t e = 0; e < edits; ++e) {
        const std::size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
        switch (rng() % 3) {
            case 0:
                if (at < s.size()) s[at] = hostile_byte(rng);
                break;
            case 1:
                s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), hostile_byte(rng));
                break;
            default:
                if (at < s.size()) s.erase(at, 1);
                break;
        }
    }
    return s.substr(0, 80);
}

// Any bytes, mostly those that matter, 0-80 of them.
std::string random_line(std::mt19937_64& rng) {
    std::string s;
    const std::size_t n = rng() % 81;
    for (std::size_t i = 0; i < n; ++i) s += hostile_byte(rng);
    return s;
}

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        lines.push_back(text.substr(0, nl));
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    }
    return lines;
}

}  // namespace

TEST_CASE("symbol_file: parse_line is the old parser on every line of the captured files",
          "[symbols]") {
    compared = 0;
    for (const char* file : {"symbols/kallsyms", "symbols/System.map-6.1.0-56-amd64",
                             "symbols/proc-modules"}) {
        INFO(file);
        const std::string text = klog_test::read_file(klog_test::data_path(file));
        REQUIRE(!text.empty());
        std::size_t index = 0;
        for (const std::string_view line : lines_of(text)) {
            REQUIRE(same_parse(line));
            // Every 53rd line also in other shapes: each of its prefixes, '\r' after it, a
            // blank before it, tabs for its blanks, its digits in upper case.
            if (index++ % 53 != 0) continue;
            for (std::size_t n = 0; n <= line.size(); ++n) REQUIRE(same_parse(line.substr(0, n)));
            std::string variant(line);
            REQUIRE(same_parse(variant + "\r"));
            REQUIRE(same_parse(variant + " \r"));
            REQUIRE(same_parse("\t" + variant));
            std::replace(variant.begin(), variant.end(), ' ', '\t');
            REQUIRE(same_parse(variant));
            std::transform(variant.begin(), variant.end(), variant.begin(),
                           [](char c) { return c >= 'a' && c <= 'f' ? static_cast<char>(c - 'a' + 'A') : c; });
            REQUIRE(same_parse(variant));
        }
    }
    CHECK(compared > 188000);
}

TEST_CASE("symbol_file: parse_line is the old parser on generated hostile lines", "[symbols]") {
    compared = 0;
    std::mt19937_64 rng(0x6b6c6f67);  // fixed: the same lines every run
    for (int i = 0; i < 200000; ++i) REQUIRE(same_parse(near_line(rng)));
    for (int i = 0; i < 100000; ++i) REQUIRE(same_parse(random_line(rng)));
    // Addresses of 15, 16 and 17 digits of every digit and every neighbour of a hex range, in
    // every position, then a blank or not.
    const std::string base = "ffffffff81a07e3d";
    const std::string specials = std::string("0123456789abcdefABCDEF/:@G`g \t\r[\x80\xff") + '\0';
    for (const char c : specials) {
        for (std::size_t at = 0; at <= base.size(); ++at) {
            for (const std::string_view digits :
                 {std::string_view(base), std::string_view(base).substr(1)}) {
                std::string d(digits);
                if (at < d.size()) d[at] = c;
                for (const char* rest : {" T name", "\tt name\t[mod]", "T name", "", " ", " T",
                                         " T ", "  T  name  ", " T name [m] x"}) {
                    REQUIRE(same_parse(d + rest));
                    REQUIRE(same_parse(d + c + rest));
                    REQUIRE(same_parse(std::string(1, c) + d + rest));
                }
            }
        }
    }
    CHECK(compared > 300000);
}

TEST_CASE("symbol_file: parse and parse_file split lines as a plain split at each newline does",
          "[symbols]") {
    std::mt19937_64 rng(0x73796d73);
    const klog_test::temp_dir dir;
    for (int round = 0; round < 300; ++round) {
        std::string text;
        const std::size_t lines = rng() % 40;
        for (std::size_t i = 0; i < lines; ++i) {
            text += rng() % 3 == 0 ? random_line(rng) : near_line(rng);
            if (i + 1 < lines || rng() % 2 == 0) text += '\n';
        }
        if (rng() % 8 == 0) text += "\n\n";
        const auto want = reference_parse(text, "src");

        std::vector<std::string> symbols;
        std::vector<std::string> diagnostics;
        const auto on_symbol = [&](const symbol_file::line& l) { symbols.push_back(describe(l)); };
        CHECK(symbol_file::parse(text, "src", on_symbol, diagnostics) == want.malformed);
        CHECK(symbols == want.symbols);
        CHECK(diagnostics == want.diagnostics);

        const std::string path = dir.file("symbols-" + std::to_string(round));
        klog_test::write_file(path, text);
        symbols.clear();
        diagnostics.clear();
        CHECK(symbol_file::parse_file(path, "src", on_symbol, diagnostics) == want.malformed);
        CHECK(symbols == want.symbols);
        CHECK(diagnostics == want.diagnostics);
    }
}

TEST_CASE("symbol_file: parse_file counts a line longer than a block once, as malformed",
          "[symbols]") {
    const klog_test::temp_dir dir;
    const std::string path = dir.file("overlong");
    const std::string good = "ffffffff81000000 T first\n";
    for (const std::size_t length :
         {symbol_file::block_size - good.size() - 1, symbol_file::block_size - good.size(),
          symbol_file::block_size - 1, symbol_file::block_size, 3 * symbol_file::block_size + 5}) {
        INFO(length);
        // The long line is a valid symbol line (a long name) until it no longer fits a block.
        std::string long_line = "ffffffff81000100 T ";
        long_line += std::string(length - long_line.size(), 'n');
        klog_test::write_file(path, good + long_line + "\nffffffff81000200 T last\n\n");
        std::vector<std::string> names;
        std::vector<std::string> diagnostics;
        const auto malformed = symbol_file::parse_file(
            path, "big", [&](const symbol_file::line& l) { names.emplace_back(l.name); },
            diagnostics);
        // What is left of a block moves to its front before the next read: a line is read
        // whole while it and its '\n' fit a block.
        const bool fits = length < symbol_file::block_size;
        CHECK(malformed == (fits ? 0U : 1U));
        CHECK(names.size() == (fits ? 3U : 2U));
        CHECK(names.front() == "first");
        CHECK(names.back() == "last");
        if (!fits) CHECK(diagnostics == std::vector<std::string>{"big:2: malformed symbol line"});
    }
}
