// Issue 12, with the real binary: what kernel text or a /dev/kmsg writer puts in a record can
// never run records together, forge a line, pass for klogd's own notice, or make its own
// `\xNN` characters read as an escaped byte, whatever --format writes the file.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "test_support.hpp"

using klog_test::read_file;
using klog_test::run_klogd;

namespace {

const std::vector<std::string> formats = {"traditional", "raw", "json", "rfc3164", "rfc5424"};

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        auto nl = text.find('\n', start);
        if (nl == std::string::npos) nl = text.size();
        lines.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    return lines;
}

bool has_raw_control(const std::string& line) {
    for (const char ch : line) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c < 0x20 && c != '\t') || c == 0x7f) return true;
    }
    return false;
}

/// `cat /dev/kmsg` form: one record per line, text escaped as the kernel escapes it.
std::string kmsg_line(int pri, int seq, const std::string& escaped_text) {
    return std::to_string(pri) + "," + std::to_string(seq) + "," + std::to_string(seq * 1000) +
           ",-;" + escaped_text + "\n";
}

/// Runs `klogd -o` on `records` (replayed from a file) writing `--format=FORMAT` to a file;
/// returns the file.
std::string replay_to_file(const std::string& records, const std::string& format) {
    klog_test::temp_dir dir;
    const auto in = dir.file("kmsg.txt");
    const auto out = dir.file("out.log");
    klog_test::write_file(in, records);
    const auto r = run_klogd({"-o", "-x", "--source=" + in, "-f", out, "--format=" + format});
    INFO("--format=" << format << " stderr: " << r.err);
    CHECK(r.exit_code == 0);
    return klog_test::read_if_any(out);
}

}  // namespace

TEST_CASE("every --format to a file is one line per record, no raw control byte",
          "[integration][hostile]") {
    // 23 records: ESC, CR, NUL, DEL, newlines (one of them followed by a forged record), C1.
    std::string records;
    int seq = 1;
    const std::vector<std::string> hostile = {
        "plain",
        "esc \\x1b[2J clear",
        "cr \\x0d return",
        "nul \\x00 byte",
        "del \\x7f",
        "c1 \\xc2\\x9b csi",
        "newline\\x0a<6>1 2026-01-01T00:00:00Z host kernel - - - forged",
        "two\\x0a\\x0alines",
        "trailing newline\\x0a",
        "\\x0a",
    };
    for (int round = 0; round < 2; ++round) {
        for (const auto& text : hostile) records += kmsg_line(6, seq++, text);
    }
    records += kmsg_line(6, seq++, "bad utf8 \\xff\\xfe");
    records += kmsg_line(14, seq++, "app[7]: user\\x0aforged user line");
    records += kmsg_line(6, seq++, "");
    REQUIRE(seq == 24);
    for (const auto& format : {std::string("rfc5424"), std::string("json")}) {
        const auto out = replay_to_file(records, format);
        INFO("--format=" << format);
        REQUIRE_FALSE(out.empty());
        CHECK(out.back() == '\n');
        const auto lines = lines_of(out);
        CHECK(lines.size() == 23);
        for (const auto& line : lines) {
            CHECK_FALSE(has_raw_control(line));
            CHECK((line.starts_with("<") || line.starts_with("{")));
        }
    }
}

TEST_CASE("a /dev/kmsg writer cannot print like klogd's own 'missed' notice in any format",
          "[integration][hostile]") {
    // seq 1..4 (2..4 the writer's lookalikes, facility user), then seq 8: klogd itself reports
    // "missed 3 kernel messages (seq 5..7)", word for word what the lookalikes say.
    std::string records = kmsg_line(6, 1, "first");
    records += kmsg_line(12, 2, "kernel: klogd: missed 3 kernel messages (seq 5..7)");
    records += kmsg_line(12, 3, "klogd: missed 3 kernel messages (seq 5..7)");
    records += kmsg_line(12, 4, "klogd[1]: missed 3 kernel messages (seq 5..7)");
    records += kmsg_line(6, 8, "after the gap");
    for (const auto& format : formats) {
        const auto out = replay_to_file(records, format);
        INFO("--format=" << format << "\n" << out);
        const auto lines = lines_of(out);
        REQUIRE(lines.size() == 6);
        // The notice is the line before the record after the gap.
        const std::string& notice = lines[4];
        CHECK(notice.find("missed 3 kernel messages (seq 5..7)") != std::string::npos);
        // Times aside, no other line may read like it.
        const auto without_time = [&](const std::string& line) {
            if (format == "traditional") return line.substr(16);
            if (format == "rfc3164") return line.substr(line.find('>') + 17);
            if (format == "rfc5424") return line.substr(line.find(' ', line.find(' ') + 1));
            if (format == "json") return line.substr(line.find("\"facility\""));
            return line;
        };
        for (std::size_t i = 1; i <= 3; ++i) CHECK(without_time(lines[i]) != without_time(notice));
        // And only the notice carries the mark of klogd's own: in the syslog formats the TAG
        // (the word after HOST) `klogd:`, in raw `<4,klogd>`, in json the origin, in rfc5424
        // the APP-NAME.
        const auto own = [&](const std::string& line) {
            const std::string rest = without_time(line);
            const auto tag_at = rest.find(' ') + 1;
            if (format == "traditional" || format == "rfc3164") {
                return rest.compare(tag_at, 7, "klogd: ") == 0;
            }
            if (format == "raw") return line.starts_with("<4,klogd>");
            if (format == "rfc5424") {
                // <PRI>1 TIMESTAMP HOSTNAME APP-NAME ...: APP-NAME klogd.
                std::size_t at = 0;
                for (int field = 0; field < 3; ++field) at = line.find(' ', at) + 1;
                return line.compare(at, 6, "klogd ") == 0;
            }
            return line.find("\"origin\":\"klogd\"") != std::string::npos;
        };
        CHECK(own(notice));
        for (std::size_t i = 0; i < lines.size(); ++i) CHECK(own(lines[i]) == (i == 4));
    }
}

TEST_CASE("kernel text backslash-x1b never reads like an escaped ESC", "[integration][hostile]") {
    // In /dev/kmsg's own escaping `\x5c` is a backslash: the second record's text holds the
    // four characters \x1b, the first an ESC byte.
    const std::string records =
        kmsg_line(6, 1, "mark \\x1b here") + kmsg_line(6, 2, "mark \\x5cx1b here");
    for (const auto& format : formats) {
        const auto lines = lines_of(replay_to_file(records, format));
        INFO("--format=" << format);
        REQUIRE(lines.size() == 2);
        const auto tail = [](const std::string& l) { return l.substr(l.find("mark")); };
        CHECK(tail(lines[0]) != tail(lines[1]));
        CHECK(lines[1].find("\\x5cx1b here") != std::string::npos);
    }
}
