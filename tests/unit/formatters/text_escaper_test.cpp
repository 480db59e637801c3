#include "klog/formatters/text_escaper.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

using klog::formatters::text_escaper;
using namespace std::string_view_literals;

namespace {

// A slow, obviously-correct model: decode one code point at a time by the Unicode rules.
std::string reference_escape(std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    const auto esc = [&](unsigned char c) {
        out += "\\x";
        out += hex[c >> 4];
        out += hex[c & 0xf];
    };
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t') || c == 0x7f || c == '\\') {
                esc(c);
            } else {
                out += static_cast<char>(c);
            }
            ++i;
            continue;
        }
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if (c >= 0xc0 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1fU;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0fU;
        } else if (c >= 0xf0 && c <= 0xf7) {
            len = 4;
            cp = c & 0x07U;
        }
        bool ok = len != 0 && i + len <= s.size();
        for (std::size_t k = 1; ok && k < len; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xc0) != 0x80) ok = false;
            cp = (cp << 6) | (b & 0x3fU);
        }
        if (ok) {
            const std::uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
            ok = cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
        }
        if (!ok) {
            esc(c);
            ++i;
            continue;
        }
        if (cp >= 0x80 && cp <= 0x9f) {
            for (std::size_t k = 0; k < len; ++k) esc(static_cast<unsigned char>(s[i + k]));
        } else {
            out.append(s.substr(i, len));
        }
        i += len;
    }
    return out;
}

std::string esc(std::string_view s) { return text_escaper::escape(s); }

/// Reads every `\xNN` back as its byte.
std::string unescape(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x') {
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 2, 2)), nullptr, 16));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

}  // namespace

TEST_CASE("text_escaper keeps printable ASCII, TAB and valid UTF-8", "[formatters]") {
    CHECK(esc("") == "");
    CHECK(esc("hello world") == "hello world");
    CHECK(esc("a\tb") == "a\tb");
    CHECK(esc("C:\\path \\x41") == "C:\\x5cpath \\x5cx41");  // backslash: an escape
    CHECK(esc("caf\xc3\xa9") == "caf\xc3\xa9");              // é
    CHECK(esc("\xe2\x82\xac 5") == "\xe2\x82\xac 5");        // €
    CHECK(esc("\xf0\x9f\x98\x80") == "\xf0\x9f\x98\x80");    // U+1F600
    CHECK(esc("\xf4\x8f\xbf\xbf") == "\xf4\x8f\xbf\xbf");    // U+10FFFF, the last one
    CHECK(esc("\xc2\xa0") == "\xc2\xa0");                    // U+00A0, first after C1
    CHECK(esc("\xed\x9f\xbf") == "\xed\x9f\xbf");            // U+D7FF, just below surrogates
    CHECK(esc("\xee\x80\x80") == "\xee\x80\x80");            // U+E000, just above
    CHECK(esc("\xe0\xa0\x80") == "\xe0\xa0\x80");            // U+0800, shortest 3-byte
    CHECK(esc("\xf0\x90\x80\x80") == "\xf0\x90\x80\x80");    // U+10000, shortest 4-byte
}

TEST_CASE("text_escaper escapes C0 controls, DEL, newline and NUL as backslash-xNN", "[formatters]") {
    CHECK(esc("\x1b[31mred") == "\\x1b[31mred");
    CHECK(esc(std::string_view("a\0b", 3)) == "a\\x00b");
    CHECK(esc("a\x7f") == "a\\x7f");
    CHECK(esc("line1\nline2\r") == "line1\\x0aline2\\x0d");
    CHECK(esc("\x01\x1f") == "\\x01\\x1f");
    CHECK(esc("\x08\x0b\x0c") == "\\x08\\x0b\\x0c");
}

TEST_CASE("text_escaper escapes C1 controls encoded in UTF-8", "[formatters]") {
    CHECK(esc("\xc2\x80") == "\\xc2\\x80");
    CHECK(esc("x\xc2\x9b"
              "31m") == "x\\xc2\\x9b31m");  // CSI
    CHECK(esc("\xc2\x9f") == "\\xc2\\x9f");
}

TEST_CASE("text_escaper escapes each byte of invalid UTF-8", "[formatters]") {
    CHECK(esc("\xc0\x80") == "\\xc0\\x80");                    // overlong NUL
    CHECK(esc("\xc1\xbf") == "\\xc1\\xbf");                    // overlong
    CHECK(esc("\xe0\x80\xaf") == "\\xe0\\x80\\xaf");           // overlong '/'
    CHECK(esc("\xf0\x8f\xbf\xbf") == "\\xf0\\x8f\\xbf\\xbf");  // overlong 4-byte
    CHECK(esc("\xed\xa0\x80") == "\\xed\\xa0\\x80");           // surrogate D800
    CHECK(esc("\xed\xbf\xbf") == "\\xed\\xbf\\xbf");           // surrogate DFFF
    CHECK(esc("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // U+110000
    CHECK(esc("\xf5\x80\x80\x80") == "\\xf5\\x80\\x80\\x80");
    CHECK(esc("\xff\xfe") == "\\xff\\xfe");
    CHECK(esc("\x80") == "\\x80");  // stray continuation
    CHECK(esc("a\xbf"
              "b") == "a\\xbfb");
    // Truncated at the end of the text.
    CHECK(esc("\xc3") == "\\xc3");
    CHECK(esc("ok\xe2\x82") == "ok\\xe2\\x82");
    CHECK(esc("\xf0\x9f\x98") == "\\xf0\\x9f\\x98");
    // Truncated in the middle: the next character stands on its own.
    CHECK(esc("\xe2\x82"
              "A") == "\\xe2\\x82A");
    CHECK(esc("\xf0\xc3\xa9") == "\\xf0\xc3\xa9");
    CHECK(esc("\xe2\xe2\x82\xac") == "\\xe2\xe2\x82\xac");
    // Latin-1, as some drivers print it.
    CHECK(esc("caf\xe9") == "caf\\xe9");
}

TEST_CASE("text_escaper agrees with a reference over every 1..3 byte sequence", "[formatters]") {
    std::string s;
    for (unsigned a = 0; a < 256; ++a) {
        s.assign(1, static_cast<char>(a));
        REQUIRE(esc(s) == reference_escape(s));
        for (unsigned b = 0; b < 256; ++b) {
            s.assign({static_cast<char>(a), static_cast<char>(b)});
            REQUIRE(esc(s) == reference_escape(s));
        }
    }
    // Three bytes: every lead byte that could start a multi-byte sequence, with continuation
    // candidates around every boundary.
    const unsigned interesting[] = {0x00, 0x0a, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0,
                                    0xbf, 0xc0, 0xc2, 0xe0, 0xed, 0xf0, 0xf4, 0xff};
    for (unsigned a = 0x80; a < 256; ++a) {
        for (unsigned b : interesting) {
            for (unsigned c : interesting) {
                s.assign({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
                REQUIRE(esc(s) == reference_escape(s));
                s += "\x80\x41";
                REQUIRE(esc(s) == reference_escape(s));
            }
        }
    }
}

TEST_CASE("text_escaper agrees with a reference on random texts at every alignment",
          "[formatters]") {
    std::mt19937 rng(12345);
    // Mostly printable text with rare specials, so the 8-byte fast path and its exits are hit.
    const std::string_view pieces[] = {"abcdefgh",
                                       "x",
                                       "\t",
                                       "\n",
                                       "\x1b",
                                       "\x7f",
                                       "\xc3\xa9",
                                       "\xe2\x82\xac",
                                       "\xf0\x9f\x98\x80",
                                       "\xc2\x9b",
                                       "\xc0",
                                       "\xed\xa0\x80",
                                       "\xff",
                                       "\\",
                                       "\"",
                                       "]",
                                       std::string_view("\0", 1),
                                       "0123456789abcdefghijklmn"};
    for (int round = 0; round < 5000; ++round) {
        std::string s;
        const int n = static_cast<int>(rng() % 12);
        for (int k = 0; k < n; ++k) s += pieces[rng() % std::size(pieces)];
        // Cut anywhere, including inside a multi-byte character.
        s.resize(rng() % (s.size() + 1));
        const std::string escaped = esc(s);
        REQUIRE(escaped == reference_escape(s));
        REQUIRE(text_escaper::is_safe(escaped));
        std::string backslash_free = s;  // what is_safe() judges: all but the backslash
        std::replace(backslash_free.begin(), backslash_free.end(), '\\', 'x');
        REQUIRE(text_escaper::is_safe(s) == (reference_escape(backslash_free) == backslash_free));
        REQUIRE(unescape(escaped) == s);  // every \xNN is an escape: the text comes back
        REQUIRE(text_escaper::is_clean(s) == (escaped == s));
    }
}

TEST_CASE("text_escaper finds a special byte at every position of the 16-byte blocks",
          "[formatters]") {
    // Texts of 1..49 bytes (short ones are judged from a padded copy, the last bytes of longer
    // ones in the block that ends the text, overlapping the one before): one or two bytes that
    // need a look, at every pair of positions, in plain text and in text of valid UTF-8.
    const std::string_view specials[] = {std::string_view("\0", 1), "\t", "\n", "\x1f",
                                         "\x7f", "\\", "\x80", "\xff", "\xc3\xa9",
                                         "\xc2\x9b", "\xe2\x82"};
    const std::string_view fillers[] = {"a", " ", "~", "\xc3\xa9"};
    for (const auto filler : fillers) {
        for (std::size_t len = 1; len <= 49; ++len) {
            std::string base;
            while (base.size() < len) base += filler;
            base.resize(len);
            for (const auto special : specials) {
                for (std::size_t at = 0; at < len; ++at) {
                    std::string s = base;
                    s.replace(at, std::min(special.size(), len - at), special.substr(0, len - at));
                    REQUIRE(esc(s) == reference_escape(s));
                    REQUIRE(text_escaper::is_clean(s) == (esc(s) == s));
                    for (std::size_t at2 = at + 1; at2 < s.size(); at2 += 3) {
                        std::string t = s;
                        t[at2] = '\x1b';
                        REQUIRE(esc(t) == reference_escape(t));
                    }
                }
            }
        }
    }
}

TEST_CASE("text_escaper::append_line escapes up to the first newline and says where it is",
          "[formatters]") {
    std::mt19937 rng(777);
    const std::string_view pieces[] = {"abcdefgh", "\n", "\x1b", "\\", "\xc3\xa9", "\xff",
                                       "\t", "0123456789abcdefghij", std::string_view("\0", 1)};
    for (int round = 0; round < 3000; ++round) {
        std::string s;
        const int n = static_cast<int>(rng() % 10);
        for (int k = 0; k < n; ++k) s += pieces[rng() % std::size(pieces)];
        std::string out = "head:";
        const std::size_t nl = text_escaper::append_line(out, s);
        REQUIRE(nl == s.find('\n'));
        REQUIRE(out == "head:" + reference_escape(std::string_view(s).substr(0, nl)));
    }
}

TEST_CASE("text_escaper appends to what the buffer already holds", "[formatters]") {
    std::string out = "prefix: ";
    text_escaper::append(out, "a\x01");
    text_escaper::append(out, "b");
    CHECK(out == "prefix: a\\x01b");
}
