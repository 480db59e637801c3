// --output=journal: the native journald protocol, tested against a real systemd-journald
// started by the test (a journal namespace of its own, in a private mount namespace so that
// nothing of the system's /run or /var/log/journal is touched; see scripts/journald-run.sh),
// read back with journalctl.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

using entry = std::map<std::string, std::string>;

/// journalctl -o export: entries separated by an empty line; `NAME=value` or `NAME\n` + 64-bit
/// little-endian length + value + `\n` for binary values.
std::vector<entry> parse_export(const std::string& text) {
    std::vector<entry> out;
    entry e;
    std::size_t at = 0;
    while (at < text.size()) {
        const auto nl = text.find('\n', at);
        if (nl == std::string::npos) break;
        if (nl == at) {
            if (!e.empty()) out.push_back(std::move(e));
            e.clear();
            ++at;
            continue;
        }
        const std::string line = text.substr(at, nl - at);
        const auto eq = line.find('=');
        if (eq != std::string::npos) {
            e[line.substr(0, eq)] = line.substr(eq + 1);
            at = nl + 1;
            continue;
        }
        std::uint64_t size = 0;
        for (int i = 7; i >= 0; --i) size = (size << 8) | static_cast<unsigned char>(text[nl + 1 + static_cast<std::size_t>(i)]);
        e[line] = text.substr(nl + 9, size);
        at = nl + 9 + size + 1;
    }
    if (!e.empty()) out.push_back(std::move(e));
    return out;
}

bool have(const char* path) { return std::filesystem::exists(path); }

}  // namespace

TEST_CASE("journal output: a real systemd-journald stores every record once with the kernel's "
          "fields",
          "[journal][daemon]") {
    REQUIRE(have("/lib/systemd/systemd-journald"));  // Debian's systemd package (make deps)
    klog_test::temp_dir dir;
    // A saved /dev/kmsg: records with dictionaries, a message holding a newline (escaped by
    // the kernel as \x0a), a userspace record with its tag, and a continuation.
    std::string saved;
    saved += "6,101,5000000,-;e1000e 0000:00:19.0 eth0: NIC Link is Up\n"
             " SUBSYSTEM=pci\n DEVICE=+pci:0000:00:19.0\n";
    saved += "3,102,5000100,-;first line\\x0asecond line\n";
    saved += "14,103,5000200,-;myapp[42]: hello from userspace\n";
    saved += "4,104,5000300,c;a continued record\n";
    for (int i = 0; i < 200; ++i) {
        saved += "6," + std::to_string(105 + i) + ",6" + std::to_string(100000 + i) +
                 ",-;bulk record " + std::to_string(i) + "\n";
    }
    klog_test::write_file(dir.file("saved.kmsg"), saved);
    const std::string ns = "klogdtest" + std::to_string(::getpid());
    const auto r = klog_test::run_process(
        {"/usr/bin/env", "NS=" + ns, "DIR=" + dir.path(), std::string("KLOGD=") + KLOGD_BINARY,
         "COUNT=204", "/bin/bash",
         std::string(KLOG_SOURCE_DIR) + "/tests/integration/scripts/journald-run.sh"},
        {}, 60000);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.find("klogd exit 0") != std::string::npos);
    std::vector<entry> records;
    for (auto& e : parse_export(r.out)) {
        if (e.count("KERNEL_SEQNUM") != 0) records.push_back(std::move(e));
    }
    REQUIRE(records.size() == 204);  // every record, once
    for (std::size_t i = 0; i < records.size(); ++i) {
        CHECK(records[i]["KERNEL_SEQNUM"] == std::to_string(101 + i));
        CHECK(records[i]["_TRANSPORT"] == "journal");
    }
    auto& link = records[0];
    CHECK(link["MESSAGE"] == "e1000e 0000:00:19.0 eth0: NIC Link is Up");
    CHECK(link["PRIORITY"] == "6");
    CHECK(link["SYSLOG_FACILITY"] == "0");
    CHECK(link["SYSLOG_IDENTIFIER"] == "kernel");
    CHECK(link["KERNEL_TIMESTAMP_USEC"] == "5000000");
    CHECK(link["KERNEL_SUBSYSTEM"] == "pci");
    CHECK(link["KERNEL_DEVICE"] == "+pci:0000:00:19.0");
    CHECK(records[1]["MESSAGE"] == "first line\nsecond line");  // binary field, kept whole
    CHECK(records[1]["PRIORITY"] == "3");
    CHECK(records[2]["MESSAGE"] == "hello from userspace");
    CHECK(records[2]["SYSLOG_IDENTIFIER"] == "myapp");
    CHECK(records[2]["SYSLOG_PID"] == "42");
    CHECK(records[2]["SYSLOG_FACILITY"] == "1");
    CHECK(records[3]["MESSAGE"] == "a continued record");
    CHECK(records[203]["MESSAGE"] == "bulk record 199");
}
