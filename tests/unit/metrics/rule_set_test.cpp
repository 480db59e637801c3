// --rules: the rule file format, its errors, matching, conditions; the default rules against
// real kernel wordings; the Prometheus exposition writer.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "klog/metrics/exposition.hpp"
#include "klog/metrics/rule_set.hpp"
#include "test_support.hpp"

using klog::metrics::rule_error;
using klog::metrics::rule_set;

namespace {

klog::record_view kernel(std::string_view text, std::uint8_t level = 3) {
    klog::record_view r;
    r.level = level;
    r.facility = 0;
    r.text = text;
    return r;
}

std::string error_of(std::string_view text) {
    try {
        (void)rule_set::parse(text, "rules.conf");
    } catch (const rule_error& e) {
        return e.what();
    }
    return "(no error)";
}

std::uint64_t matches(const rule_set& set, std::string_view name) {
    for (const auto& r : set.rules()) {
        if (r.name == name) return r.matches;
    }
    return ~0ULL;
}

}  // namespace

TEST_CASE("a rule file that cannot be used says file line and reason and never its contents",
          "[metrics][rules]") {
    CHECK(error_of("") == "rules.conf:1: no [rule] in the file");
    CHECK(error_of("text = x\n") == "rules.conf:1: 'text' before the first [rule]");
    CHECK(error_of("[a]\n\n[b c]\n") ==
          "rules.conf:3: a rule name is 1 to 64 letters, digits and '_', not starting with a digit");
    CHECK(error_of("[a]\n[a]\n") == "rules.conf:2: rule [a] is defined twice");
    CHECK(error_of("[a]\nlevel = loud\n") ==
          "rules.conf:2: level: a level (0..7, emerg..debug) or a range LOW..HIGH");
    CHECK(error_of("[a]\nfacility = 300\n") == "rules.conf:2: facility: a name (kern, user, daemon, ...) or 0..255");
    CHECK(error_of("[a]\ncolour = red\n") ==
          "rules.conf:2: unknown key (text, level, facility, subsystem, device, condition)");
    CHECK(error_of("[a]\nsecret-password-line\n") == "rules.conf:2: expected '[name]' or 'key = value'");
    CHECK(error_of("[a]\ntext = (unclosed\n").rfind("rules.conf:2: text: not an ECMAScript regex", 0) == 0);
    CHECK(error_of("[a]\ncondition = 0\n").rfind("rules.conf:2: condition:", 0) == 0);
    CHECK(error_of(std::string("[a]\ntext = a\0b\n", 14)) == "rules.conf:2: a NUL byte: not a rule file");
    // /etc/passwd is no rule file, and its lines are not echoed.
    const auto passwd = error_of("root:x:0:0:root:/root:/bin/bash\n");
    CHECK(passwd == "rules.conf:1: expected '[name]' or 'key = value'");
}

TEST_CASE("rules match on level range facility SUBSYSTEM DEVICE and the text", "[metrics][rules]") {
    auto set = rule_set::parse("# comment\n"
                               "[disk]\n"
                               "text = I/O error\n"
                               "level = emerg..err\n"
                               "facility = kern\n"
                               "subsystem = block\n"
                               "device = b8:0\n"
                               "\n"
                               "; another comment\n"
                               "[any_warning]\n"
                               "level = warning\n"
                               "condition = 10\n",
                               "r");
    std::string dict = "SUBSYSTEM=block\nDEVICE=b8:0";
    auto r = kernel("I/O error, dev sda, sector 0");
    r.dictionary = klog::dictionary_view(dict, 2);
    const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
    set.match(r, t0);
    CHECK(matches(set, "disk") == 1);
    auto info = r;
    info.level = 6;  // below the range
    set.match(info, t0);
    auto user = r;
    user.facility = 1;
    set.match(user, t0);
    auto other = kernel("I/O error, dev sda, sector 0");  // no SUBSYSTEM
    set.match(other, t0);
    auto own = r;
    own.own = true;  // klogd's own: never
    set.match(own, t0);
    CHECK(matches(set, "disk") == 1);

    const auto& cond = set.rules()[1];
    CHECK_FALSE(set.condition_set(cond, t0));
    set.match(kernel("something", 4), t0);
    CHECK(matches(set, "any_warning") == 1);
    CHECK(set.condition_set(cond, t0 + std::chrono::seconds(9)));
    CHECK_FALSE(set.condition_set(cond, t0 + std::chrono::seconds(10)));
}

TEST_CASE("the default rules match real kernel wordings and not their neighbours", "[metrics][rules]") {
    const auto set0 = rule_set::load(std::string(KLOG_SOURCE_DIR) + "/klogd/rules/default.rules");
    struct example {
        const char* rule;
        const char* text;
        std::uint8_t level;
    };
    const example hits[] = {
        // block/blk-core.c print_req_error (4.17-5.x) and blk_print_req_error (5.17+)
        {"io_error", "blk_update_request: I/O error, dev sdb, sector 2048 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 0", 3},
        {"io_error", "I/O error, dev sda, sector 0 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 2", 3},
        {"io_error", "print_req_error: I/O error, dev sdc, sector 1052672", 3},
        {"io_error", "Buffer I/O error on dev sda1, logical block 0, async page read", 3},
        // fs/ext4/super.c __ext4_error_inode
        {"ext4_error", "EXT4-fs error (device sda1): ext4_lookup:1855: inode #2: comm ls: deleted inode referenced: 12", 2},
        // fs/xfs
        {"xfs_error", "XFS (sdb1): Corruption detected. Unmount and run xfs_repair", 1},
        {"xfs_error", "XFS (dm-0): metadata I/O error in \"xfs_trans_read_buf_map\" at daddr 0x2 len 1 error 5", 1},
        {"xfs_error", "XFS (sda): Log I/O Error Detected. Shutting down filesystem", 1},
        {"xfs_error", "XFS (sda1): Filesystem has been shut down due to log error (0x2).", 1},
        {"filesystem_read_only", "EXT4-fs (sda1): Remounting filesystem read-only", 2},
        // drivers/net/ethernet: e1000e, igb, r8169, mlx5
        {"nic_link_down", "e1000e 0000:00:19.0 eth0: NIC Link is Down", 6},
        {"nic_link_down", "igb 0000:01:00.0 eno1: igb: eno1 NIC Link is Down", 6},
        {"nic_link_down", "r8169 0000:02:00.0 enp2s0: Link is Down", 6},
        {"nic_link_down", "mlx5_core 0000:3b:00.0 ens1f0: Link down", 6},
        // arch/x86/kernel/cpu/mce/core.c
        {"machine_check", "mce: [Hardware Error]: Machine check events logged", 2},
        {"machine_check", "[Hardware Error]: CPU 2: Machine Check: 0 Bank 5: be00000000800400", 0},
        // NFS client (rpc / nfs)
        {"nfs_server_not_responding", "nfs: server 192.168.1.10 not responding, still trying", 5},
        {"nfs_server_not_responding", "nfs: server nfs01 not responding, timed out", 5},
    };
    for (const auto& h : hits) {
        auto set = set0;
        set.match(kernel(h.text, h.level));
        INFO(h.rule << ": " << h.text);
        CHECK(matches(set, h.rule) == 1);
        std::uint64_t total = 0;
        for (const auto& r : set.rules()) total += r.matches;
        CHECK(total == 1);  // exactly that rule
    }
    const char* misses[] = {
        "e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx",
        "EXT4-fs (sda1): mounted filesystem with ordered data mode. Quota mode: none.",
        "XFS (sda1): Mounting V5 Filesystem",
        "nfs: server 192.168.1.10 OK",
        "mce: CPU0: Thermal monitoring enabled (TM1)",
        "sd 0:0:0:0: [sda] 16777216 512-byte logical blocks: (8.59 GB/8.00 GiB)",
    };
    for (const char* m : misses) {
        auto set = set0;
        set.match(kernel(m, 3));
        std::uint64_t total = 0;
        for (const auto& r : set.rules()) total += r.matches;
        INFO(m);
        CHECK(total == 0);
    }
    // The I/O error rule wants err or worse: an info line quoting it is not one.
    auto set = set0;
    set.match(kernel("I/O error, dev sda, sector 0 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 2", 6));
    CHECK(matches(set, "io_error") == 0);
}

TEST_CASE("a regex is never run on more than max_text bytes", "[metrics][rules]") {
    auto set = rule_set::parse("[end]\ntext = x$\n", "r");
    std::string huge(100000, 'a');
    huge += 'x';
    set.match(kernel(huge));
    CHECK(matches(set, "end") == 0);  // the x is past the cut
}

TEST_CASE("exposition escapes label values and help text", "[metrics]") {
    klog::metrics::exposition e;
    e.family("klogd_test_total", "counter", "a \\ help\nline");
    e.sample("klogd_test_total", {{"rule", "a\"b\\c\nd"}}, std::uint64_t{3});
    e.sample("klogd_test_seconds", {}, 1.5);
    CHECK(e.text() ==
          "# HELP klogd_test_total a \\\\ help\\nline\n"
          "# TYPE klogd_test_total counter\n"
          "klogd_test_total{rule=\"a\\\"b\\\\c\\nd\"} 3\n"
          "klogd_test_seconds 1.5\n");
}
