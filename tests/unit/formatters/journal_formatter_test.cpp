// --output=journal's datagrams, byte for byte as journald's native protocol defines them.
#include "klog/formatters/journal_formatter.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "formatter_fixtures.hpp"

using namespace klog::formatters;
using namespace klog::formatters::test;

namespace {

/// The fields of a datagram, parsed as journald parses them (journald-native.c).
std::map<std::string, std::string> fields_of(const std::string& d) {
    std::map<std::string, std::string> out;
    std::size_t at = 0;
    while (at < d.size()) {
        const auto nl = d.find('\n', at);
        REQUIRE(nl != std::string::npos);
        const auto line = d.substr(at, nl - at);
        if (const auto eq = line.find('='); eq != std::string::npos) {
            out[line.substr(0, eq)] = line.substr(eq + 1);
            at = nl + 1;
            continue;
        }
        REQUIRE(nl + 9 <= d.size());
        std::uint64_t size = 0;
        for (int i = 7; i >= 0; --i) {
            size = (size << 8) | static_cast<unsigned char>(d[nl + 1 + static_cast<std::size_t>(i)]);
        }
        REQUIRE(nl + 9 + size < d.size());
        CHECK(d[nl + 9 + size] == '\n');
        out[line] = d.substr(nl + 9, size);
        at = nl + 9 + size + 1;
    }
    return out;
}

}  // namespace

TEST_CASE("journal: a kernel record with its dictionary, field by field", "[formatters][journal]") {
    auto r = kernel_record("e1000e: eth0 NIC Link is Up");
    r.caller = "T42";
    r.dictionary = klog::dictionary_view("SUBSYSTEM=pci\nDEVICE=+pci:0000:00:19.0\nodd-key.x=1", 3);
    CHECK(format_with(journal_formatter(), r) ==
          "MESSAGE=e1000e: eth0 NIC Link is Up\n"
          "PRIORITY=6\n"
          "SYSLOG_FACILITY=0\n"
          "SYSLOG_IDENTIFIER=kernel\n"
          "KERNEL_SEQNUM=376\n"
          "KERNEL_TIMESTAMP_USEC=4836489\n"
          "KERNEL_CALLER=T42\n"
          "KERNEL_SUBSYSTEM=pci\n"
          "KERNEL_DEVICE=+pci:0000:00:19.0\n"
          "KERNEL_ODD_KEY_X=1\n");
}

TEST_CASE("journal: a value with a newline is sent in the binary form, other bytes as they are",
          "[formatters][journal]") {
    const std::string text = std::string("one\ntwo\0three\x1b[31m", 18);
    auto r = kernel_record(text);
    r.seq.reset();
    r.ts_usec.reset();
    const auto out = format_with(journal_formatter(), r);
    std::string expected = "MESSAGE\n";
    expected += std::string("\x12\0\0\0\0\0\0\0", 8);  // 18, 64-bit little endian
    expected += text;
    expected += "\nPRIORITY=6\nSYSLOG_FACILITY=0\nSYSLOG_IDENTIFIER=kernel\n";
    CHECK(out == expected);
}

TEST_CASE("journal: userspace records keep their ident and pid, klogd's own and pstore records "
          "are marked where no text can reach",
          "[formatters][journal]") {
    auto user = kernel_record("myapp[42]: hello");
    user.facility = 1;
    user.level = 5;
    const auto u = format_with(journal_formatter(), user);
    CHECK(u.starts_with("MESSAGE=hello\nPRIORITY=5\nSYSLOG_FACILITY=1\nSYSLOG_IDENTIFIER=myapp\n"
                        "SYSLOG_PID=42\n"));
    // A userspace writer cannot claim the kernel's ident, nor add fields with a newline.
    auto forged = kernel_record("kernel: x\nKLOGD_OWN=1");
    forged.facility = 1;
    const auto f = fields_of(format_with(journal_formatter(), forged));
    CHECK(f.count("KLOGD_OWN") == 0);
    CHECK(f.at("MESSAGE") == "kernel: x\nKLOGD_OWN=1");  // binary: the newline stays inside
    CHECK(f.at("SYSLOG_IDENTIFIER") == "unknown");
    const auto own = format_with(journal_formatter(), klog::own_notice("klogd: missed 3"));
    CHECK(own.find("SYSLOG_IDENTIFIER=klogd\n") != std::string::npos);
    CHECK(own.ends_with("KLOGD_OWN=1\n"));
    auto old = kernel_record("Kernel panic - not syncing");
    old.pstore = true;
    CHECK(format_with(journal_formatter(), old).ends_with("KLOGD_PSTORE=1\n"));
}
