// Hostile tests of the incident stage: each one shows a way kernel bytes, userspace writers or
// a restart make the stage report what did not happen (or twice what happened once).
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "klog/decoders/line_decoder.hpp"
#include "klog/incidents/incident_directory.hpp"
#include "test_support.hpp"
#include "klog/incidents/incident_stage.hpp"

using klog::incidents::incident;
using klog::incidents::incident_kind;
using klog::incidents::incident_stage;

namespace {

struct attack_feeder {
    std::vector<incident> got;
    std::chrono::steady_clock::time_point t{};
    incident_stage stage;
    std::uint64_t seq = 100;
    std::string keep;  // the text a record_view points into

    explicit attack_feeder(incident_stage::limits lim = {})
        : stage([this](const incident& i) { got.push_back(i); }, lim, [this] { return t; }) {}

    /// One kernel (or, with facility, userspace) record `<PRI>[ts] text`, numbered in order.
    void line(const std::string& text, bool already_delivered = false) {
        keep = text;
        auto r = klog::decoders::line_decoder::parse_line(
            keep, klog::decoders::line_decoder::prefix::optional);
        r.seq = seq++;
        stage.feed(r, already_delivered);
    }
};

}  // namespace

// /dev/kmsg numbers every record, userspace ones included (systemd, journald, any root
// process writes there). The stage drops userspace records before it looks at their sequence
// number, so the kernel record after one looks like it follows a gap: the block is reported
// "partial: records lost" although nothing was lost.
TEST_CASE("attack: a userspace record inside an Oops does not make the incident partial",
          "[incidents][attack]") {
    attack_feeder f;
    f.line("<1>[   10.000000] BUG: kernel NULL pointer dereference, address: 0000000000000000");
    f.line("<4>[   10.000001] Oops: 0002 [#1] PREEMPT SMP NOPTI");
    // A daemon writes to /dev/kmsg meanwhile: facility daemon (3), seq 102.
    f.line("<30>[   10.000002] systemd[1]: Started Session 4 of user root.");
    f.line("<4>[   10.000003] CPU: 0 PID: 170 Comm: sh Tainted: G           OE      6.1.0 #1");
    f.line("<4>[   10.000004] RIP: 0010:klogd_test_crash+0x5/0x10 [klogd_test_mod]");
    f.line("<4>[   10.000005] ---[ end trace 0000000000000000 ]---");
    REQUIRE(f.got.size() == 1);
    CHECK(f.got[0].first_seq == 100U);
    CHECK(f.got[0].last_seq == 105U);
    CHECK_FALSE(f.got[0].partial);  // seq 100..105 all read: nothing was lost
    CHECK(f.stage.counters().partial == 0);
}

// Any unprivileged user names a process (prctl PR_SET_NAME, 15 bytes) and lets it crash: the
// kernel prints `<comm>[pid]: segfault at ...` (arch/x86/mm/fault.c show_signal_msg,
// KERN_INFO, facility kern) with the name first. The stage takes that line for the kernel's own
// `BUG:` report or an x86 die() header and klogd delivers a crit "incident" record (and an
// --incident-dir file, pushing real ones out of the 1000 kept) that no kernel trouble caused.
// Every line that starts a real report is printed at warning or more severe.
TEST_CASE("attack: a task named like a kernel report that segfaults is no incident",
          "[incidents][attack]") {
    attack_feeder f;
    f.line("<6>[   20.000000] BUG: owned[4242]: segfault at 0 ip 000055d0c0de1000 sp "
           "00007ffd2a1b0000 error 6 in a.out[55d0c0de0000+1000]");
    f.line("<6>[   20.100000] Code: Unable to access opcode bytes at 0x55d0c0de0fd6.");
    f.stage.finish();
    for (const auto& i : f.got) INFO(std::string(klog::incidents::kind_name(i.kind)) + ": " + i.title);
    CHECK(f.got.empty());
    CHECK(f.stage.counters().reported == 0);

    // The same with the shape of an x86 die() header (lower-case words, a colon, four hex digits, ` [#`; 14 bytes of name): an "oops".
    attack_feeder g;
    g.line("<6>[   21.000000] abc: 0000 [#1][4243]: segfault at 0 ip 000055d0c0de1000 sp "
           "00007ffd2a1b0000 error 6 in a.out[55d0c0de0000+1000]");
    g.stage.finish();
    for (const auto& i : g.got) INFO(std::string(klog::incidents::kind_name(i.kind)) + ": " + i.title);
    CHECK(g.got.empty());
}

// README "Incidents": "After a restart, records every output already had are read again only
// to rebuild the blocks: an incident they complete is not reported twice." Two BUG reports in a
// row: the second closes the first (closed_by "next"). After a restart every record is read
// again as already delivered, and the stage reports the first one a second time, because
// close() treats every reason but "end" as never delivered.
TEST_CASE("attack: records read again after a restart do not report again an incident closed "
          "by the next one",
          "[incidents][attack]") {
    const auto run = [](attack_feeder& f, bool already) {
        f.line("<3>[   30.000000] BUG: scheduling while atomic: kworker/0:1/19/0x00000002", already);
        f.line("<4>[   30.000001] Modules linked in: crc7", already);
        f.line("<4>[   30.000002] CPU: 0 PID: 19 Comm: kworker/0:1 Not tainted 6.1.0 #1", already);
        f.line("<3>[   31.000000] BUG: sleeping function called from invalid context at "
               "mm/slab.h:723",
               already);
        f.line("<4>[   31.000001] CPU: 1 PID: 20 Comm: kworker/1:1 Not tainted 6.1.0 #1", already);
    };
    // The first run: the first BUG is reported when the second begins.
    attack_feeder first;
    run(first, false);
    REQUIRE(first.got.size() == 1);
    CHECK(first.got[0].closed_by == klog::incidents::close_reason::next);

    // A restart in the same boot: the same records, every output has them.
    attack_feeder again;
    run(again, true);
    for (const auto& i : again.got) INFO("reported again: " + i.title);
    CHECK(again.got.empty());
    CHECK(again.stage.counters().reported == 0);
}

// The same for a block without an end line that was reported once nothing more came for it
// (closed_by "time"): after a restart the rebuilt block waits 5 s again and is reported again.
TEST_CASE("attack: records read again after a restart do not report again an incident closed "
          "by time",
          "[incidents][attack]") {
    const auto run = [](attack_feeder& f, bool already) {
        f.line("<3>[   40.000000] BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 "
               "stuck for 33s!",
               already);
        f.line("<6>[   40.000001] Showing busy workqueues and worker pools:", already);
    };
    attack_feeder first;
    run(first, false);
    first.t += std::chrono::seconds(6);
    first.stage.expire();
    REQUIRE(first.got.size() == 1);
    CHECK(first.got[0].closed_by == klog::incidents::close_reason::time);

    attack_feeder again;
    run(again, true);
    again.t += std::chrono::seconds(6);
    again.stage.expire();
    CHECK(again.got.empty());
}

// README: `records`: "how many records it spans". A record whose text holds several lines (the
// kernel keeps embedded newlines; /dev/kmsg escapes them as \x0a) counts once per line.
TEST_CASE("attack: a multi-line record in a block counts as one record", "[incidents][attack]") {
    attack_feeder f;
    f.line("<4>[   50.000000] ------------[ cut here ]------------");
    f.line("<4>[   50.000001] WARNING: CPU: 0 PID: 1 at foo.c:1 foo+0x1/0x2");
    // One record, three lines.
    f.line("<4>[   50.000002] line one\nline two\nline three");
    f.line("<4>[   50.000003] ---[ end trace 0000000000000000 ]---");
    REQUIRE(f.got.size() == 1);
    CHECK(f.got[0].first_seq == 100U);
    CHECK(f.got[0].last_seq == 103U);
    CHECK(f.got[0].records == 4);
}

// README "Numbers that cannot be": a leap of more than 2^32 is "not a count of lost records;
// delivered as it is" (pipeline.cpp). The stage, fed the same record, calls it lost records
// and reports the block "partial: records lost": klogd says two contrary things about one
// record.
TEST_CASE("attack: an implausible sequence leap inside a block is not reported as lost records",
          "[incidents][attack]") {
    attack_feeder f;
    f.line("<4>[   60.000000] ------------[ cut here ]------------");
    f.line("<4>[   60.000001] WARNING: CPU: 0 PID: 1 at foo.c:1 foo+0x1/0x2");
    f.seq += (std::uint64_t{1} << 33);  // a header whose number is garbage
    f.line("<4>[   60.000002] Modules linked in: crc7");
    f.line("<4>[   60.000003] ---[ end trace 0000000000000000 ]---");
    REQUIRE(f.got.size() == 1);
    CHECK_FALSE(f.got[0].partial);
}

// --incident-dir names a file `STAMP-KIND-PID-N.json` (N counts from 1 in each run) and
// rename(2)s it over whatever has that name. Two runs with the same pid and the same wall-clock
// second write the same name: a machine without an RTC starts every boot at the same time
// (1970, or a fake-hwclock), and klogd started by init at boot gets the same pid each time.
// The second boot's first incident silently replaces the first boot's: the evidence of the
// earlier crash is gone. incident_directory.cpp write().
TEST_CASE("attack: an incident file never replaces another run's incident file",
          "[incidents][attack]") {
    klog_test::temp_dir dir;
    incident first;
    first.kind = incident_kind::oops;
    first.title = "BUG: first boot";
    incident second = first;
    second.title = "BUG: second boot";
    const std::int64_t boot_time = 12 * 1000000;  // 1970-01-01T00:00:12Z, both boots
    {
        klog::incidents::incident_directory run1(dir.path());
        run1.write(first, "boot-1", boot_time);
    }
    {
        klog::incidents::incident_directory run2(dir.path());
        run2.write(second, "boot-2", boot_time);
    }
    std::size_t files = 0;
    bool first_kept = false;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        ++files;
        if (klog_test::read_file(e.path().string()).find("first boot") != std::string::npos) {
            first_kept = true;
        }
    }
    CHECK(files == 2);
    CHECK(first_kept);
}
