// The incident stage: blocks of kernel trouble become one incident each (DESIGN.md "Incidents").
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "klog/decoders/line_decoder.hpp"
#include "klog/incidents/incident_stage.hpp"
#include "test_support.hpp"

using klog::incidents::incident;
using klog::incidents::incident_kind;
using klog::incidents::incident_stage;

namespace {

/// Feeds `dmesg -r` / `dmesg` lines (`# ` lines skipped) as records numbered from `first_seq`.
struct feeder {
    std::vector<incident> got;
    std::chrono::steady_clock::time_point t{};
    incident_stage stage;
    std::uint64_t seq = 100;

    explicit feeder(incident_stage::limits lim = {})
        : stage([this](const incident& i) { got.push_back(i); }, lim, [this] { return t; }) {}

    void line(const std::string& text, std::string caller = {}) {
        auto r = klog::decoders::line_decoder::parse_line(
            text, klog::decoders::line_decoder::prefix::optional);
        r.seq = seq++;
        if (!caller.empty()) r.caller = caller;
        stage.feed(r);
    }
    void text(const std::string& all) {
        std::istringstream in(all);
        for (std::string l; std::getline(in, l);) {
            if (l.rfind("# ", 0) == 0 || l == "#") continue;
            line(l);
        }
    }
    void file(const std::string& name) {
        std::ifstream in(klog_test::data_path(name), std::ios::binary);
        REQUIRE(in);
        std::ostringstream s;
        s << in.rdbuf();
        text(s.str());
    }
};

const std::string warn_61 =
    "<4>[   10.100000] ------------[ cut here ]------------\n"
    "<4>[   10.100001] WARNING: CPU: 0 PID: 97 at /vm/module/klogd_test_mod.c:90 "
    "klogd_test_warn+0x1a/0x30 [klogd_test_mod]\n"
    "<4>[   10.100002] Modules linked in: klogd_test_mod(OE+) crc7 [last unloaded: crc8]\n"
    "<4>[   10.100003] CPU: 0 PID: 97 Comm: sh Tainted: G           OE      6.1.0-56-amd64 #1  "
    "Debian 6.1.192-2\n"
    "<4>[   10.100004] RIP: 0010:klogd_test_warn+0x1a/0x30 [klogd_test_mod]\n"
    "<4>[   10.100005] Call Trace:\n"
    "<4>[   10.100006]  <TASK>\n"
    "<4>[   10.100007]  param_attr_store+0x9a/0xf0\n"
    "<4>[   10.100008]  ? kernfs_fop_write_iter+0x11c/0x1f0\n"
    "<4>[   10.100009]  kernfs_fop_write_iter+0x11c/0x1f0\n"
    "<4>[   10.100010]  vfs_write+0x2d8/0x3f0\n"
    "<4>[   10.100011]  </TASK>\n"
    "<4>[   10.100012] ---[ end trace 0000000000000000 ]---\n";

}  // namespace

TEST_CASE("the test module's Oops on 6.1 is one oops incident with every fact", "[incidents]") {
    feeder f;
    f.file("incidents/guest-oops-6.1.log");
    f.stage.finish();
    REQUIRE(f.got.size() == 1);
    const auto& i = f.got[0];
    CHECK(i.kind == incident_kind::oops);
    CHECK(i.title == "BUG: kernel NULL pointer dereference, address: 0000000000000000");
    CHECK(i.detail == "Oops: 0002 [#1] PREEMPT SMP NOPTI");
    CHECK(i.function == "klogd_test_crash");
    CHECK(i.module == "klogd_test_mod");
    CHECK(i.cpu == 0U);
    CHECK(i.pid == 95U);
    CHECK(i.comm == "insmod");
    CHECK(i.taint == std::string("OE"));
    CHECK(i.modules == std::vector<std::string>{"klogd_test_mod"});
    CHECK(i.closed_by == klog::incidents::close_reason::end);
    CHECK_FALSE(i.partial);
    REQUIRE(i.frames.size() >= 6);
    CHECK(i.frames[0].address == "ffffffffc059e000");
    CHECK_FALSE(i.frames[0].reliable);
    CHECK(i.frames[1].function == "klogd_test_init");
    CHECK(i.frames[1].module == "klogd_test_mod");
    CHECK(i.frames[1].reliable);
    CHECK(i.signature ==
          "oops:klogd_test_crash[klogd_test_mod]<klogd_test_init[klogd_test_mod]<do_one_initcall<"
          "do_init_module");
    CHECK(i.count == 1);
    CHECK(i.first_seq == 101U);  // the line before is the module's own "about to oops"
    REQUIRE(i.last_seq);
    CHECK(*i.last_seq == 143);  // ---[ end trace: line 45 of the file, whose line 2 is seq 100
}

TEST_CASE("the register dump the kernel repeats after the end is no second incident", "[incidents]") {
    feeder f;
    f.file("incidents/guest-oops-6.1.log");
    f.file("incidents/guest-oops-6.1.log");  // the same Oops again: counted
    f.stage.finish();
    REQUIRE(f.got.size() == 2);
    CHECK_FALSE(f.got[0].repeat);
    CHECK(f.got[1].repeat);
    CHECK(f.got[1].count == 2);
    CHECK(f.got[1].signature == f.got[0].signature);
    CHECK(f.got[1].summary().find("(repeat)") != std::string::npos);
}

TEST_CASE("repeats above one a minute are counted and said later", "[incidents]") {
    feeder f;
    for (int n = 0; n < 5; ++n) f.text(warn_61);
    REQUIRE(f.got.size() == 2);  // in full, then one repeat
    CHECK(f.got[1].count == 2);
    CHECK(f.stage.counters().suppressed == 3);
    CHECK(f.stage.busy());
    f.t += std::chrono::seconds(61);
    f.stage.expire();
    REQUIRE(f.got.size() == 3);
    CHECK(f.got[2].repeat);
    CHECK(f.got[2].count == 5);
    CHECK_FALSE(f.stage.busy());
    f.t += std::chrono::hours(2);
    f.text(warn_61);  // long after: in full again
    REQUIRE(f.got.size() == 4);
    CHECK_FALSE(f.got[3].repeat);
    CHECK(f.got[3].count == 6);
}

TEST_CASE("a WARNING between cut here and end trace is one warning", "[incidents]") {
    feeder f;
    f.text(warn_61);
    REQUIRE(f.got.size() == 1);
    const auto& i = f.got[0];
    CHECK(i.kind == incident_kind::warning);
    CHECK(i.title.rfind("WARNING: CPU: 0 PID: 97 at ", 0) == 0);
    CHECK(i.location == "/vm/module/klogd_test_mod.c:90");
    CHECK(i.function == "klogd_test_warn");
    CHECK(i.module == "klogd_test_mod");
    CHECK(i.modules == std::vector<std::string>{"klogd_test_mod", "crc7"});
    CHECK(i.frames.size() == 4);
    CHECK(i.signature ==
          "warning:klogd_test_warn[klogd_test_mod]<param_attr_store<kernfs_fop_write_iter<vfs_write");
    CHECK(i.first_seq == 100U);
    CHECK(i.last_seq == 112U);
}

TEST_CASE("records of userspace and of other tasks do not break a block", "[incidents]") {
    feeder f;
    std::istringstream in(warn_61);
    int n = 0;
    for (std::string l; std::getline(in, l); ++n) {
        f.line(l, "T97");
        f.line("<14>[   10.1] myapp[12]: unrelated userspace line");
        f.line("<6>[   10.1] e1000e: eth0 NIC Link is Up", "T5");
        if (n == 6) f.line("<4>[   10.1]  other_cpu_frame+0x1/0x2", "C1");
    }
    REQUIRE(f.got.size() == 1);
    CHECK(f.got[0].frames.size() == 4);  // the other CPU's frame is not in it
    CHECK(f.got[0].title.rfind("WARNING:", 0) == 0);
}

TEST_CASE("a block cut by lost records is partial", "[incidents]") {
    feeder f;
    std::istringstream in(warn_61);
    int n = 0;
    for (std::string l; std::getline(in, l); ++n) {
        if (n == 5) f.seq += 3;  // three records lost in the middle
        f.line(l);
    }
    REQUIRE(f.got.size() == 1);
    CHECK(f.got[0].partial);
    CHECK(f.got[0].summary().find("partial") != std::string::npos);
}

TEST_CASE("a block that never ends is closed by records, kernel time and idle time", "[incidents]") {
    incident_stage::limits lim;
    lim.max_records = 20;
    SECTION("records") {
        feeder f(lim);
        f.line("<4>[ 1.000000] ------------[ cut here ]------------");
        for (int n = 0; n < 30; ++n) f.line("<6>[ 1.000001] something else");
        REQUIRE(f.got.size() == 1);
        CHECK(f.got[0].closed_by == klog::incidents::close_reason::lines);
        CHECK(f.got[0].kind == incident_kind::warning);
    }
    SECTION("kernel time") {
        feeder f(lim);
        f.line("<4>[ 1.000000] INFO: task foo:12 blocked for more than 120 seconds.");
        f.line("<4>[ 100.000000] unrelated");
        REQUIRE(f.got.size() == 1);
        CHECK(f.got[0].closed_by == klog::incidents::close_reason::time);
        CHECK(f.got[0].kind == incident_kind::hung_task);
    }
    SECTION("idle") {
        feeder f(lim);
        f.line("<4>[ 1.000000] INFO: task foo:12 blocked for more than 120 seconds.");
        f.stage.expire();
        CHECK(f.got.empty());
        f.t += std::chrono::seconds(6);
        f.stage.expire();
        REQUIRE(f.got.size() == 1);
        CHECK(f.got[0].closed_by == klog::incidents::close_reason::time);
    }
}

TEST_CASE("hung task, soft lockup, hard lockup, rcu stall, panic and oom kill", "[incidents]") {
    SECTION("hung task ends with its trace") {
        feeder f;
        f.text("<3>[  243.5] INFO: task klogd_hung:101 blocked for more than 20 seconds.\n"
               "<3>[  243.5]       Tainted: G           OE      6.1.0-56-amd64 #1 Debian 6.1.192-2\n"
               "<3>[  243.5] \"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.\n"
               "<6>[  243.5] task:klogd_hung      state:D stack:0     pid:101   ppid:2      flags:0x00004000\n"
               "<6>[  243.5] Call Trace:\n"
               "<6>[  243.5]  <TASK>\n"
               "<6>[  243.5]  __schedule+0x34d/0x9e0\n"
               "<6>[  243.5]  schedule+0x5a/0xd0\n"
               "<6>[  243.5]  schedule_timeout+0x94/0x150\n"
               "<6>[  243.5]  klogd_hung_thread+0x20/0x40 [klogd_test_mod]\n"
               "<6>[  243.5]  </TASK>\n"
               "<6>[  244.0] next line\n");
        REQUIRE(f.got.size() == 1);
        const auto& i = f.got[0];
        CHECK(i.kind == incident_kind::hung_task);
        CHECK(i.comm == "klogd_hung");
        CHECK(i.pid == 101U);
        CHECK(i.blocked_seconds == 20U);
        CHECK(i.taint == std::string("OE"));
        CHECK(i.closed_by == klog::incidents::close_reason::end);
        CHECK(i.signature == "hung_task:klogd_hung<__schedule<schedule<schedule_timeout<"
                             "klogd_hung_thread[klogd_test_mod]");
    }
    SECTION("soft lockup") {
        feeder f;
        f.line("<0>[   48.1] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [kworker/1:2:128]");
        f.stage.finish();
        REQUIRE(f.got.size() == 1);
        CHECK(f.got[0].kind == incident_kind::soft_lockup);
        CHECK(f.got[0].cpu == 1U);
        CHECK(f.got[0].comm == "kworker/1:2");
        CHECK(f.got[0].pid == 128U);
    }
    SECTION("hard lockup") {
        feeder f;
        f.line("<0>[   48.1] NMI watchdog: Watchdog detected hard LOCKUP on cpu 3");
        f.stage.finish();
        REQUIRE(f.got.size() == 1);
        CHECK(f.got[0].kind == incident_kind::hard_lockup);
        CHECK(f.got[0].cpu == 3U);
    }
    SECTION("rcu stall") {
        feeder f;
        f.line("<3>[   48.1] rcu: INFO: rcu_preempt self-detected stall on CPU");
        f.stage.finish();
        REQUIRE(f.got.size() == 1);
        CHECK(f.got[0].kind == incident_kind::rcu_stall);
    }
    SECTION("panic") {
        feeder f;
        f.text("<0>[   12.0] Kernel panic - not syncing: sysrq triggered crash\n"
               "<4>[   12.0] CPU: 0 PID: 90 Comm: sh Not tainted 6.1.0-56-amd64 #1  Debian 6.1.192-2\n"
               "<4>[   12.0] Call Trace:\n"
               "<4>[   12.0]  <TASK>\n"
               "<4>[   12.0]  dump_stack_lvl+0x44/0x5c\n"
               "<4>[   12.0]  panic+0x118/0x300\n"
               "<4>[   12.0]  sysrq_handle_crash+0x16/0x20\n"
               "<4>[   12.0]  </TASK>\n"
               "<0>[   12.0] Kernel Offset: 0x2a400000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)\n"
               "<0>[   12.0] ---[ end Kernel panic - not syncing: sysrq triggered crash ]---\n");
        REQUIRE(f.got.size() == 1);
        const auto& i = f.got[0];
        CHECK(i.kind == incident_kind::panic);
        CHECK(i.detail == "sysrq triggered crash");
        CHECK(i.taint == std::string());
        CHECK(i.kernel_offset.rfind("0x2a400000 from 0xffffffff81000000", 0) == 0);
        CHECK(i.signature == "panic:sysrq triggered crash<dump_stack_lvl<panic<sysrq_handle_crash");
    }
    SECTION("oom kill names the killed process") {
        feeder f;
        f.text("<4>[   30.0] hog invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0\n"
               "<4>[   30.0] CPU: 0 PID: 120 Comm: hog Not tainted 6.1.0-56-amd64 #1  Debian 6.1.192-2\n"
               "<4>[   30.0] Call Trace:\n"
               "<4>[   30.0]  <TASK>\n"
               "<4>[   30.0]  dump_stack_lvl+0x44/0x5c\n"
               "<4>[   30.0] RIP: 0010:clear_user_erms+0xe/0x20\n"
               "<4>[   30.0]  </TASK>\n"
               "<4>[   30.0] Mem-Info:\n"
               "<6>[   30.0] Tasks state (memory values in pages):\n"
               "<6>[   30.0] [    120]     0   120   263570   112930   905216        0             0 hog\n"
               "<6>[   30.0] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/,task=hog,pid=120,uid=0\n"
               "<3>[   30.0] Out of memory: Killed process 120 (hog) total-vm:1054280kB, anon-rss:451720kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:884kB oom_score_adj:0\n"
               "<6>[   30.1] oom_reaper: reaped process 120 (hog), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB\n");
        REQUIRE(f.got.size() == 1);
        const auto& i = f.got[0];
        CHECK(i.kind == incident_kind::oom_kill);
        CHECK(i.comm == "hog");
        CHECK(i.victim_pid == 120U);
        CHECK(i.victim_comm == "hog");
        CHECK(i.detail == "Out of memory: Killed process 120 (hog)");
        CHECK(i.signature == "oom_kill:hog");
        CHECK(i.function.empty());  // where the task was is no fault
        CHECK(i.closed_by == klog::incidents::close_reason::end);
    }
}

TEST_CASE("kernel BUG at after cut here is a bug with its location", "[incidents]") {
    feeder f;
    f.text("------------[ cut here ]------------\n"
           "kernel BUG at mm/slub.c:4235!\n"
           "invalid opcode: 0000 [#1] SMP PTI\n"
           "CPU: 2 PID: 7 Comm: kworker/2:0 Not tainted 4.19.0-16-amd64 #1 Debian 4.19.181-1\n"
           "RIP: 0010:kfree+0x1b9/0x1d0\n"
           "Call Trace:\n"
           " foo_release+0x20/0x40 [foo]\n"
           "---[ end trace 3b7e6b3fdf2d4c5a ]---\n");
    REQUIRE(f.got.size() == 1);
    const auto& i = f.got[0];
    CHECK(i.kind == incident_kind::bug);
    CHECK(i.title == "kernel BUG at mm/slub.c:4235!");
    CHECK(i.location == "mm/slub.c:4235");
    CHECK(i.detail == "invalid opcode: 0000 [#1] SMP PTI");
    CHECK(i.function == "kfree");
    CHECK(i.signature == "bug:kfree<foo_release[foo]");
}

TEST_CASE("malformed and hostile blocks never crash and stay bounded", "[incidents]") {
    feeder f;
    f.text("CPU: \nCPU: 99999999999999999999 PID: x Comm: \n"
           "Modules linked in:\n"
           "RIP: 0010:\nRIP: 0010:+0x/0x\nRIP: 0010:a+0x1/\n"
           "INFO: task blocked for more than \n"
           "INFO: task :: blocked for more than 99999999999 seconds.\n"
           "watchdog: BUG: soft lockup - CPU#\n"
           "watchdog: BUG: soft lockup - CPU#1 stuck ][\n"
           " invoked oom-killer: \n"
           "Killed process \n"
           "Out of memory: Killed process 12 (\n"
           "Kernel panic - not syncing\n"
           "------------[ cut here ]------------\n"
           "WARNING: at\n"
           "Call Trace:\n"
           "[<\n[<>]\n[<ffffffffffffffffffffffff>] x+0x1/0x2\n ? \n ? 0x\n (+0x1/0x2)\n"
           "---[ end trace\n");
    std::string huge(9000, 'A');
    f.line("Modules linked in: " + huge);
    f.line("------------[ cut here ]------------");
    f.line("WARNING: " + huge);
    for (int n = 0; n < 200; ++n) f.line(" f" + std::to_string(n) + "+0x1/0x2 [m]");
    f.stage.finish();
    for (const auto& i : f.got) {
        CHECK(i.title.size() <= 256);
        CHECK(i.frames.size() <= 64);
        for (const auto& m : i.modules) CHECK(m.size() <= 64);
        std::string json;
        i.append_json(json);
        CHECK_FALSE(json.empty());
        CHECK_FALSE(i.summary().empty());
    }
}

TEST_CASE("records read again after a restart close no second report", "[incidents]") {
    std::vector<incident> got;
    incident_stage stage([&](const incident& i) { got.push_back(i); });
    std::istringstream in(warn_61);
    std::uint64_t seq = 1;
    for (std::string l; std::getline(in, l);) {
        auto r = klog::decoders::line_decoder::parse_line(
            l, klog::decoders::line_decoder::prefix::required);
        r.seq = seq++;
        stage.feed(r, /*already_delivered=*/true);
    }
    CHECK(got.empty());
    // Counted in the run that reported it, not again.
    CHECK(stage.counters().by_kind[static_cast<int>(incident_kind::warning)] == 0);
}

TEST_CASE("frame lines in the forms of 3.x to 6.x kernels", "[incidents]") {
    using klog::incidents::parse::frame_line;
    auto f = frame_line(" [<ffffffff8106d5e2>] ? warn_slowpath_common+0x82/0xc0");
    REQUIRE(f);
    CHECK(f->function == "warn_slowpath_common");
    CHECK(f->address == "ffffffff8106d5e2");
    CHECK_FALSE(f->reliable);
    f = frame_line("  ? 0xffffffffc059e000");
    REQUIRE(f);
    CHECK(f->function.empty());
    CHECK(f->address == "ffffffffc059e000");
    f = frame_line(" klogd_test_init+0x18/0x1000 [klogd_test_mod]");
    REQUIRE(f);
    CHECK(f->module == "klogd_test_mod");
    f = frame_line("[<c0119ebc>] (dump_backtrace+0x0/0x10c) from [<c040ef4c>] (dump_stack+0x18/0x1c)");
    REQUIRE(f);
    CHECK(f->function == "dump_backtrace");
    f = frame_line(" [<ffffffffc0232000>] crc7_be+0x0/0x1024 [crc7]");  // klogd's own expansion
    REQUIRE(f);
    CHECK(f->function == "crc7_be");
    CHECK(f->module == "crc7");
    CHECK_FALSE(frame_line(" </TASK>"));
    CHECK_FALSE(frame_line("RIP: 0033:0x47fbe9"));
    CHECK_FALSE(frame_line("Code: 08 89 e8 5b"));
    CHECK(klog::incidents::parse::base_function("foo.isra.0") == "foo");
    CHECK(klog::incidents::parse::taint("Tainted: P        W  O      4.19.0 #1") == std::string("PWO"));
}
