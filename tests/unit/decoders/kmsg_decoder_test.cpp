#include "klog/decoders/kmsg_decoder.hpp"

#include <catch2/catch.hpp>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "klog/incidents/incident.hpp"
#include "owned_record.hpp"
#include "test_support.hpp"

using klog::decoders::parse_kmsg_record;

namespace {
klog_test::record decode(std::string_view bytes) {
    std::string scratch;
    return klog_test::record(parse_kmsg_record(bytes, scratch));
}
}  // namespace

TEST_CASE("kmsg: 4-field header with text", "[decoders][kmsg]") {
    const auto r = decode("6,1,0,-;Command line: console=ttyS0\n");
    CHECK(r.level == 6);
    CHECK(r.facility == 0);
    CHECK(r.seq == 1U);
    CHECK(r.ts_usec == 0U);
    CHECK(r.flag == '-');
    CHECK(r.text == "Command line: console=ttyS0");
    CHECK(r.dictionary_entries == 0);
    CHECK_FALSE(r.malformed);
}

TEST_CASE("kmsg: 3-field header of Linux 3.5 (no flag)", "[decoders][kmsg]") {
    const auto r = decode("4,17,123456;old kernel\n");
    CHECK(r.level == 4);
    CHECK(r.seq == 17U);
    CHECK(r.ts_usec == 123456U);
    CHECK(r.flag == '-');
    CHECK(r.text == "old kernel");
    CHECK_FALSE(r.malformed);
}

TEST_CASE("kmsg: unknown extra header fields are ignored, caller= is taken", "[decoders][kmsg]") {
    const auto r = decode("6,5,7,-,caller=T123,future=1;text\n");
    CHECK(r.caller == "T123");
    CHECK(r.text == "text");
    const auto c = decode("6,5,7,c,newfield;continued\n");
    CHECK(c.flag == 'c');
    CHECK(c.caller.empty());
    CHECK(c.text == "continued");
    CHECK_FALSE(c.malformed);
}

TEST_CASE("kmsg: flags '-' 'c' '+' and unknown are kept", "[decoders][kmsg]") {
    CHECK(decode("6,1,1,-;a\n").flag == '-');
    CHECK(decode("6,1,1,c;a\n").flag == 'c');
    CHECK(decode("6,1,1,c;a\n").view().continuation());
    CHECK(decode("6,1,1,+;a\n").flag == '+');
    CHECK(decode("6,1,1,z;a\n").flag == 'z');
}

TEST_CASE("kmsg: PRI 0..2047, facility up to 255", "[decoders][kmsg]") {
    const auto zero = decode("0,1,1,-;emerg\n");
    CHECK(zero.level == 0);
    CHECK(zero.facility == 0);
    const auto max = decode("2047,1,1,-;local\n");
    CHECK(max.level == 7);
    CHECK(max.facility == 255);
    CHECK(max.view().priority() == 2047);
    const auto user = decode("14,378,4838514,-;myapp[42]: userspace line via kmsg\n");
    CHECK(user.facility == 1);
    CHECK(user.level == 6);
    CHECK(decode("2048,1,1,-;too big\n").malformed);
}

TEST_CASE("kmsg: u64 seq and timestamp", "[decoders][kmsg]") {
    const auto r = decode("6,18446744073709551615,18446744073709551615,-;max\n");
    CHECK(r.seq == UINT64_MAX);
    CHECK(r.ts_usec == UINT64_MAX);
    CHECK(decode("6,18446744073709551616,1,-;overflow\n").malformed);
}

TEST_CASE("kmsg: backslash-xNN escapes are decoded, including backslash-x5c and backslash-x00",
          "[decoders][kmsg]") {
    const auto r = decode(
        "11,377,4837611,-;klogd-sample: control \\x01 bytes \\x1b[31m and utf8 \\xc3\\xa9 and "
        "backslash \\x5c\\x5c end\n");
    CHECK(r.text ==
          "klogd-sample: control \x01 bytes \x1b[31m and utf8 \xc3\xa9 and backslash \\\\ end");
    const auto nul = decode("6,1,1,-;a\\x00b\\x0aline2\n");
    CHECK(nul.text == std::string("a\0b\nline2", 9));
    CHECK(decode("6,1,1,-;upper \\x4A\\x4b\n").text == "upper JK");
}

TEST_CASE("kmsg: malformed escapes are kept literally", "[decoders][kmsg]") {
    CHECK(decode("6,1,1,-;lone \\ backslash\n").text == "lone \\ backslash");
    CHECK(decode("6,1,1,-;bad \\xZZ hex\n").text == "bad \\xZZ hex");
    CHECK(decode("6,1,1,-;half \\x4\n").text == "half \\x4");
    CHECK(decode("6,1,1,-;end \\x\n").text == "end \\x");
    CHECK(decode("6,1,1,-;trailing \\\n").text == "trailing \\");
    CHECK(decode("6,1,1,-;\\n is not an escape\n").text == "\\n is not an escape");
}

TEST_CASE("kmsg: dictionary lines are fields, never text", "[decoders][kmsg]") {
    const auto r = decode(
        "6,390,88000,-;acpi PNP0A03:00: _OSC: OS supports\n SUBSYSTEM=acpi\n "
        "DEVICE=+acpi:PNP0A03:00\n");
    CHECK(r.text == "acpi PNP0A03:00: _OSC: OS supports");
    const auto v = r.view();
    REQUIRE(v.dictionary.size() == 2);
    CHECK(v.dictionary.find("SUBSYSTEM") == "acpi");
    CHECK(v.dictionary.find("DEVICE") == "+acpi:PNP0A03:00");
    CHECK_FALSE(v.dictionary.find("MISSING"));
    auto it = v.dictionary.begin();
    CHECK(it->key == "SUBSYSTEM");
    ++it;
    CHECK(it->key == "DEVICE");
    ++it;
    CHECK(it == v.dictionary.end());
    CHECK_FALSE(r.malformed);
}

TEST_CASE("kmsg: dictionary values are unescaped except a newline", "[decoders][kmsg]") {
    const auto r = decode("6,1,1,-;t\n KEY=a\\x20b\\x0ac\n NOEQUALS\n");
    const auto v = r.view();
    REQUIRE(v.dictionary.size() == 2);
    CHECK(v.dictionary.find("KEY") == "a b\\x0ac");
    CHECK(v.dictionary.find("NOEQUALS") == "");
}

TEST_CASE("kmsg: unindented lines after the text are kept in the text and flagged",
          "[decoders][kmsg]") {
    const auto r = decode("6,1,1,-;text\nstray line\n SUBSYSTEM=pci\n");
    CHECK(r.malformed);
    CHECK(r.text == "text\nstray line");
    CHECK(r.view().dictionary.find("SUBSYSTEM") == "pci");
}

TEST_CASE("kmsg: a record clipped without its newline keeps its text", "[decoders][kmsg]") {
    const auto r = decode("6,9,10,-;clipped text");
    CHECK(r.text == "clipped text");
    CHECK_FALSE(r.malformed);
    const auto d = decode("6,9,10,-;t\n SUBSYSTEM=pc");
    CHECK(d.view().dictionary.find("SUBSYSTEM") == "pc");
}

TEST_CASE("kmsg: empty text", "[decoders][kmsg]") {
    const auto r = decode("6,2,3,-;\n");
    CHECK(r.text.empty());
    CHECK_FALSE(r.malformed);
    CHECK(r.seq == 2U);
    CHECK(decode("6,2,3,-;").text.empty());
}

TEST_CASE("kmsg: header numbers of every length, read eight digits at a time or one by one",
          "[decoders][kmsg]") {
    // Numbers of 1..21 digits (u64 has up to 20), with and without leading zeros, in records
    // with text after them (read eight digits at a time) and in bare headers at the end of the
    // bytes (read one by one); each must read as std::from_chars reads it, and a number that
    // does not fit must make the record malformed.
    std::vector<std::string> numbers;
    for (std::size_t len = 1; len <= 21; ++len) {
        numbers.push_back(std::string(len, '9'));
        numbers.push_back("1" + std::string(len - 1, '0'));
        numbers.push_back(std::string(len - 1, '0') + "7");
        std::string mixed;
        for (std::size_t k = 0; k < len; ++k) mixed += static_cast<char>('0' + (k * 7 + 3) % 10);
        numbers.push_back(mixed);
    }
    numbers.push_back("18446744073709551615");
    numbers.push_back("18446744073709551616");
    const auto expected = [](const std::string& digits) -> std::optional<std::uint64_t> {
        std::uint64_t v = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
        if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
        return v;
    };
    for (const auto& n : numbers) {
        const auto want = expected(n);
        INFO("number: " << n);
        for (const std::string text : {"", "a text long enough to read sixteen bytes\n"}) {
            const auto as_seq = decode("6," + n + ",5,-;" + text);
            const auto as_ts = decode("6,5," + n + ";" + text);
            CHECK(as_seq.malformed == !want.has_value());
            CHECK(as_ts.malformed == !want.has_value());
            if (want) {
                CHECK(as_seq.seq == want);
                CHECK(as_ts.ts_usec == want);
            }
            // The priority: at most 2047, however many leading zeros.
            const auto as_pri = decode(n + ",5,5,-;" + text);
            const bool pri_ok = want && *want <= 2047;
            CHECK(as_pri.malformed == !pri_ok);
            if (pri_ok) CHECK(as_pri.view().priority() == static_cast<int>(*want));
        }
        // A byte just outside '0'..'9' ends the number: it is then not the header's separator.
        for (const char after : {'/', ':', ' ', '\0'}) {
            std::string bad = "6," + n + ",5,-;text long enough for sixteen\n";
            bad.insert(2 + n.size(), 1, after);
            CHECK(decode(bad).malformed);
        }
    }
}

TEST_CASE(
    "kmsg: bytes that are not a record pass through whole (but their final newline), "
    "flagged, keeping a sequence number that still reads",
    "[decoders][kmsg]") {
    struct bad_case {
        std::string bytes;
        std::optional<std::uint64_t> seq;
    };
    for (const auto& [bad, seq] :
         std::vector<bad_case>{{"", std::nullopt},
                               {"no header at all\n", std::nullopt},
                               {";text\n", std::nullopt},
                               {"6,1;text\n", 1},
                               {"x,1,1,-;text\n", 1},
                               {"6,1,1\n;late semicolon\n", 1},
                               {"-1,1,1,-;neg\n", 1},
                               {"6,,1,-;empty seq\n", std::nullopt},
                               {"6,1,,-;empty ts\n", 1},
                               {"6 ,1,1,-;space\n", 1},
                               {"2048,7,1,-;pri too big\n", 7},
                               {"6,+5,1,-;plus\n", std::nullopt},
                               {"6,18446744073709551616,0,-;2^64\n", std::nullopt}}) {
        const auto r = decode(bad);
        INFO("input: " << bad);
        CHECK(r.malformed);
        const auto whole = bad.ends_with('\n') ? bad.substr(0, bad.size() - 1) : bad;
        CHECK(r.text == whole);
        CHECK(r.seq == seq);
    }
}

TEST_CASE("kmsg: every record of the real capture decodes", "[decoders][kmsg][corpus]") {
    const auto all = klog_test::read_file(klog_test::data_path("corpus/kmsg.records"));
    std::string scratch;
    std::size_t records = 0;
    std::size_t with_dict = 0;
    std::uint64_t expected_seq = 0;
    std::string_view rest = all;
    while (!rest.empty()) {
        const auto nul = rest.find('\0');
        const auto rec = parse_kmsg_record(rest.substr(0, nul), scratch);
        CHECK_FALSE(rec.malformed);
        REQUIRE(rec.seq);
        CHECK(*rec.seq == expected_seq);
        ++expected_seq;
        ++records;
        // The hint that lets later stages skip looking for lines is never wrong.
        if (rec.single_line) CHECK(rec.text.find('\n') == std::string_view::npos);
        if (!rec.dictionary.empty()) {
            ++with_dict;
            CHECK(rec.dictionary.find("SUBSYSTEM"));
            CHECK(rec.dictionary.find("DEVICE"));
            CHECK(rec.text.find('\n') == std::string_view::npos);
        }
        if (nul == std::string_view::npos) break;
        rest.remove_prefix(nul + 1);
    }
    CHECK(records == 379);
    CHECK(with_dict > 0);
}

TEST_CASE("kmsg: the header ends at its first semicolon however short the field after the time is",
          "[decoders][kmsg]") {
    // `,;;`: an empty field, then the text `;x` (the one-byte flag's shortcut must not take
    // the first ';' for a flag).
    const auto empty_flag = decode("6,1,1,;;x\n");
    CHECK(empty_flag.flag == '-');
    CHECK(empty_flag.text == ";x");
    CHECK_FALSE(empty_flag.malformed);
    CHECK(decode("6,1,1,,;x\n").flag == '-');
    CHECK(decode("6,1,1,c;;x\n").text == ";x");
    // A newline before the ';' is not the kernel's header.
    const auto newline = decode("6,1,1,\n;x\n");
    CHECK(newline.malformed);
    CHECK(newline.seq == 1U);
    CHECK(decode("6,1,1,-,\n;x\n").malformed);
    CHECK(decode("6,1,1x;x\n").malformed);
    CHECK(decode("6,1,1").malformed);
}

TEST_CASE("kmsg: a record decoded into a reused one has nothing of the record before",
          "[decoders][kmsg]") {
    std::string scratch_reused;
    klog::record_view reused;
    const std::string full =
        "14,9,5,c,caller=C3;one\\x0atwo\n SUBSYSTEM=pci\n DEVICE=+pci:0\nstray\n";
    parse_kmsg_record(full, scratch_reused, reused);
    CHECK(reused.caller == "C3");
    CHECK(reused.dictionary.size() == 2);
    CHECK(reused.malformed);
    reused.own = true;  // fields the decoder never sets to anything but their default
    reused.pstore = true;
    const klog::incidents::incident some;
    reused.incident = &some;
    for (const std::string_view next : {"6,10,7;plain\n", "not a record", "3,11,8,-;x\n"}) {
        std::string scratch;
        const auto fresh = parse_kmsg_record(next, scratch);
        parse_kmsg_record(next, scratch_reused, reused);
        CHECK(reused.level == fresh.level);
        CHECK(reused.facility == fresh.facility);
        CHECK(reused.seq == fresh.seq);
        CHECK(reused.ts_usec == fresh.ts_usec);
        CHECK(reused.flag == fresh.flag);
        CHECK(reused.caller == fresh.caller);
        CHECK(reused.text == fresh.text);
        CHECK(reused.dictionary.block() == fresh.dictionary.block());
        CHECK(reused.dictionary.size() == fresh.dictionary.size());
        CHECK(reused.malformed == fresh.malformed);
        CHECK(reused.single_line == fresh.single_line);
        CHECK_FALSE(reused.own);
        CHECK_FALSE(reused.pstore);
        CHECK(reused.incident == nullptr);
    }
}

TEST_CASE("kmsg: a text is said to be one line only where the decoder saw that it is",
          "[decoders][kmsg]") {
    const auto one_line = [](std::string_view bytes) {
        std::string scratch;
        return parse_kmsg_record(bytes, scratch).single_line;
    };
    CHECK(one_line("6,1,1,-;plain text\n"));
    CHECK(one_line("6,1,1,-;no final newline"));
    CHECK(one_line("6,1,1,-;\n"));
    // An escaped newline is a line break in the text.
    CHECK(decode("6,1,1,-;one\\x0atwo\n").text == "one\ntwo");
    CHECK_FALSE(one_line("6,1,1,-;one\\x0atwo\n"));
    // Anything else the fast path does not take: not known, so not claimed.
    CHECK_FALSE(one_line("6,1,1,-;a \\x5c b\n"));
    CHECK_FALSE(one_line("6,1,1,-;text\n SUBSYSTEM=pci\n"));
    CHECK_FALSE(one_line("6,1,1,-;text\nstray line\n"));
    CHECK_FALSE(one_line("garbage\nmore"));
}
