// Hostile tests of incidents, --incident-dir and pstore through the real binary. Each test
// fails on the klogd it was written against; the comment above it says what it shows.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "daemon_harness.hpp"
#include "syslog_receiver.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using klog_test::background_klogd;
using klog_test::eventually;

namespace {

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

std::vector<std::string> names_in(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        out.push_back(it->path().filename().string());
    }
    return out;
}

/// Three lower-case letters for `n` (< 17576): titles whose signatures differ (digits would be
/// normalised away).
std::string letters(unsigned n) {
    std::string s(3, 'a');
    for (int k = 2; k >= 0; --k) {
        s[static_cast<std::size_t>(k)] = static_cast<char>('a' + n % 26);
        n /= 26;
    }
    return s;
}

/// A pstore directory with one dump, a state directory and a ring holding one record.
struct pstore_setup {
    klog_test::temp_dir dir;
    std::string pstore = dir.file("pstore");
    std::string state_dir = dir.file("lib");
    std::string log = dir.file("kern.log");
    klog_test::kmsg_ring ring{dir.file("kmsg.sock"), 1000};

    pstore_setup() {
        std::filesystem::create_directory(pstore);
        std::filesystem::create_directory(state_dir);
        ring.add(klog_test::kmsg_record(6, 1, 1000, "this boot"));
    }
    std::vector<std::string> args(const std::string& format = "raw") const {
        return {"-n", "-x", "--format=" + format, "--source=kmsg:" + ring.path(),
                "--pidfile=" + dir.file("klogd.pid"), "--state-file=" + state_dir + "/state",
                "--pstore=" + pstore, "--output=file:" + log};
    }
};

}  // namespace

// README "Incidents": "After a restart, records every output already had are read again only to
// rebuild the blocks: an incident they complete is not reported twice." Two BUG reports without
// end lines: the first is closed by the second ("next"), the second once nothing more comes
// ("time", 5 s). A clean stop and a start in the same boot: both are reported again, to every
// output and as new --incident-dir files. Root cause: incident_stage::close() passes
// `delivered` only for close_reason::end.
TEST_CASE("attack daemon: a restart does not report again incidents closed by the next one or "
          "by time",
          "[integration][incidents][attack]") {
    klog_test::temp_dir dir;
    klog_test::kmsg_ring ring(dir.file("kmsg.sock"), 1000);
    ring.add(klog_test::kmsg_record(6, 1, 1000000, "before"));
    ring.add(klog_test::kmsg_record(
        3, 2, 2000000, "BUG: scheduling while atomic: kworker/0:1/19/0x00000002"));
    ring.add(klog_test::kmsg_record(4, 3, 2000001,
                                    "CPU: 0 PID: 19 Comm: kworker/0:1 Not tainted 6.1.0 #1"));
    ring.add(klog_test::kmsg_record(
        3, 4, 3000000, "BUG: sleeping function called from invalid context at mm/slab.h:723"));
    ring.add(klog_test::kmsg_record(4, 5, 3000001,
                                    "CPU: 1 PID: 20 Comm: kworker/1:1 Not tainted 6.1.0 #1"));
    const auto log = dir.file("kern.log");
    const auto incidents = dir.file("incidents");
    const std::vector<std::string> args{"-n", "-x", "--source=kmsg:" + ring.path(),
                                        "--pidfile=" + dir.file("klogd.pid"),
                                        "--state-file=" + dir.file("state"), "--pstore=none",
                                        "--incident-dir=" + incidents, "--output=file:" + log};
    {
        background_klogd klogd(args, dir.file("err1"));
        // The first at once (closed by the second), the second after 5 s without more.
        REQUIRE(eventually([&] { return count_of(klog_test::read_if_any(log), "klogd: incident bug") == 2; },
                           15s));
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    REQUIRE(names_in(incidents).size() == 2);
    ring.add(klog_test::kmsg_record(6, 6, 9000000, "second run"));
    {
        background_klogd klogd(args, dir.file("err2"));
        REQUIRE(eventually([&] { return count_of(klog_test::read_if_any(log), "second run") == 1; }));
        // Long enough for a block rebuilt from the ring to be closed by time (5 s idle).
        std::this_thread::sleep_for(7s);
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    const auto out = klog_test::read_file(log);
    INFO(out);
    CHECK(count_of(out, "before") == 1);  // the records themselves: once each
    CHECK(count_of(out, "klogd: incident bug: BUG: scheduling while atomic") == 1);
    CHECK(count_of(out, "klogd: incident bug: BUG: sleeping function called") == 1);
    CHECK(names_in(incidents).size() == 2);
}

// /sys/fs/pstore holds only regular files, but --pstore=DIR can name any directory, and the
// reader opens `dmesg-*` with std::ifstream, which follows symbolic links: a link to
// /etc/shadow (here a stand-in secret) is delivered to every output as the "previous boot's
// log", and a copy of it is written into the archive. pstore_reader.cpp read_file().
TEST_CASE("attack daemon: a symbolic link among the pstore files is not followed",
          "[integration][incidents][pstore][attack]") {
    pstore_setup s;
    const auto secret = s.dir.file("shadow");
    klog_test::write_file(secret, "root:$6$SECRETHASHxyz:19000:0:99999:7:::\n");
    ::chmod(secret.c_str(), 0600);
    std::filesystem::create_symlink(secret, s.pstore + "/dmesg-ramoops-0");
    {
        background_klogd klogd(s.args(), s.dir.file("err"));
        REQUIRE(eventually([&] { return count_of(klog_test::read_if_any(s.log), "this boot") == 1; }));
        std::this_thread::sleep_for(500ms);
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    const auto out = klog_test::read_file(s.log);
    INFO(out);
    CHECK(out.find("SECRETHASH") == std::string::npos);
    for (const auto& f : names_in(s.state_dir + "/pstore")) {
        INFO(f);
        CHECK(klog_test::read_file(s.state_dir + "/pstore/" + f).find("SECRETHASH") ==
              std::string::npos);
    }
}

// A FIFO named dmesg-* in the pstore directory: the reader opens it for reading without
// O_NONBLOCK and blocks in open(2) forever, before the kernel ring is read: the daemon never
// delivers a single record (and holds its pid file, so nothing else can start).
TEST_CASE("attack daemon: a FIFO among the pstore files does not stop klogd",
          "[integration][incidents][pstore][attack]") {
    pstore_setup s;
    REQUIRE(::mkfifo((s.pstore + "/dmesg-ramoops-0").c_str(), 0600) == 0);
    background_klogd klogd(s.args(), s.dir.file("err"));
    CHECK(eventually([&] { return count_of(klog_test::read_if_any(s.log), "this boot") == 1; }, 10s));
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(5s) == 0);
}

// A dump that cannot be read (here: larger than the 16 MiB the reader takes) is skipped with a
// note that only -d shows: the previous boot's log is not delivered and neither the outputs nor
// standard error say so. application.cpp read_pstore(): `for (n : notes) diag(...)`.
TEST_CASE("attack daemon: a pstore dump that is not delivered is said without -d",
          "[integration][incidents][pstore][attack]") {
    pstore_setup s;
    std::string dump = "Panic#1 Part1\n";
    const std::string line = "<4>[    1.000000] " + std::string(200, 'x') + "\n";
    while (dump.size() <= (17U << 20)) dump += line;
    dump += "<0>[   12.000000] Kernel panic - not syncing: the only copy of why\n";
    klog_test::write_file(s.pstore + "/dmesg-ramoops-0", dump);
    dump.clear();
    {
        background_klogd klogd(s.args(), s.dir.file("err"));
        REQUIRE(eventually([&] { return count_of(klog_test::read_if_any(s.log), "this boot") == 1; }));
        std::this_thread::sleep_for(500ms);
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    const auto out = klog_test::read_file(s.log);
    const auto err = klog_test::read_file(s.dir.file("err"));
    INFO("stderr: " << err);
    CHECK(std::filesystem::exists(s.pstore + "/dmesg-ramoops-0"));  // not archived: right
    // ... but said somewhere: an output or standard error names the file.
    const bool said = out.find("dmesg-ramoops-0") != std::string::npos ||
                      err.find("dmesg-ramoops-0") != std::string::npos;
    CHECK(said);
}

// README "pstore": records of the previous boot are "marked pstore in every format (json
// "origin":"pstore", rfc5424 APP-NAME pstore, raw <PRI,pstore>, traditional tag pstore:)". A
// pstore dump holds the previous boot's userspace records too (kmsg_dump prints `<PRI>` with
// the facility). Those come out in json (and rfc5424, traditional, rfc3164) with their
// userspace ident, a time of now and no mark at all: indistinguishable from a record a process
// wrote this boot. record_view.cpp origin() marks only `pstore && facility == 0`.
TEST_CASE("attack daemon: a previous boot's userspace record from pstore is marked pstore in json",
          "[integration][incidents][pstore][attack]") {
    pstore_setup s;
    std::string dump = "Oops#1 Part1\n";
    dump += "<6>[    1.000000] previous boot kernel record\n";
    dump += "<38>[    2.000000] sshd[77]: Accepted password for root from 10.9.8.7 port 4242\n";
    klog_test::write_file(s.pstore + "/dmesg-ramoops-0", dump);
    {
        background_klogd klogd(s.args("json"), s.dir.file("err"));
        REQUIRE(eventually([&] { return count_of(klog_test::read_if_any(s.log), "this boot") == 1; }));
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    std::string kernel_line, user_line;
    for (const auto& l : klog_test::file_lines(s.log)) {
        if (l.find("previous boot kernel record") != std::string::npos) kernel_line = l;
        if (l.find("Accepted password") != std::string::npos) user_line = l;
    }
    INFO(kernel_line);
    INFO(user_line);
    REQUIRE(!kernel_line.empty());
    REQUIRE(!user_line.empty());
    CHECK(kernel_line.find("\"origin\":\"pstore\"") != std::string::npos);
    CHECK(user_line.find("pstore") != std::string::npos);
}

// README: --incident-dir "the newest 1000 are kept". Files are named
// `STAMP-KIND-PID-N.json` and pruned in name order: within one second "-1000" sorts before
// "-2" and "bug" before "oops", so the newest reports are deleted and older ones kept.
// incident_directory.cpp prune().
TEST_CASE("attack: --incident-dir keeps the newest 1000 reports of a burst",
          "[integration][incidents][attack]") {
    klog_test::temp_dir dir;
    constexpr unsigned total = 1005;
    std::string replay;
    for (unsigned i = 0; i < total; ++i) {
        replay += "<3>[    1.000000] BUG: case " + letters(i) + "\n";
    }
    klog_test::write_file(dir.file("replay.log"), replay);
    const auto incidents = dir.file("incidents");
    const auto r = klog_test::run_klogd({"-o", "-x", "--source=" + dir.file("replay.log"),
                                         "--incident-dir=" + incidents,
                                         "--output=file:" + dir.file("out.log")},
                                        {}, 120000);
    REQUIRE(r.exit_code == 0);
    const auto files = names_in(incidents);
    CHECK(files.size() == 1000);
    std::set<std::string> titles;
    for (const auto& f : files) {
        const auto body = klog_test::read_file(incidents + "/" + f);
        const auto at = body.find("\"title\":\"BUG: case ");
        if (at != std::string::npos) titles.insert(body.substr(at + 19, 3));
    }
    std::vector<std::string> missing;
    for (unsigned i = total - 1000; i < total; ++i) {
        if (titles.count(letters(i)) == 0) missing.push_back(std::to_string(i + 1));
    }
    std::string said;
    for (const auto& m : missing) said += m + " ";
    INFO("newest reports deleted (1-based): " << said);
    CHECK(missing.empty());
}

// --user: "drop privileges after opening everything; ... the state directory is made for it".
// --incident-dir is made (as root, 0755) before the drop and never handed over, so every
// incident file fails with EACCES once klogd runs as the user: the reports --incident-dir is
// for are lost (one stderr line each). application.cpp open_incidents() / prepare_for_user().
TEST_CASE("attack daemon: --user with --incident-dir still writes the incident files",
          "[integration][incidents][attack]") {
    klog_test::temp_dir dir;
    REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);  // nobody must reach what is inside
    klog_test::kmsg_ring ring(dir.file("kmsg.sock"), 1000);
    ring.add(klog_test::kmsg_record(1, 1, 1000000,
                                    "BUG: kernel NULL pointer dereference, address: 0000000000000000"));
    ring.add(klog_test::kmsg_record(4, 2, 1000001, "Oops: 0002 [#1] PREEMPT SMP NOPTI"));
    ring.add(klog_test::kmsg_record(4, 3, 1000002, "RIP: 0010:crash_me+0x5/0x10 [victim]"));
    ring.add(klog_test::kmsg_record(4, 4, 1000003, "---[ end trace 0000000000000000 ]---"));
    ring.add(klog_test::kmsg_record(6, 5, 2000000, "after"));
    const auto log = dir.file("kern.log");
    const auto incidents = dir.file("incidents");
    const std::vector<std::string> args{"-n", "-x", "--user=nobody",
                                        "--source=kmsg:" + ring.path(),
                                        "--pidfile=" + dir.file("klogd.pid"),
                                        "--state-file=" + dir.file("lib") + "/state",
                                        "--pstore=none", "--incident-dir=" + incidents,
                                        "--output=file:" + log};
    background_klogd klogd(args, dir.file("err"));
    REQUIRE(eventually([&] { return count_of(klog_test::read_if_any(log), "after") == 1; }));
    CHECK(count_of(klog_test::read_file(log), "klogd: incident oops") == 1);
    CHECK(eventually([&] { return names_in(incidents).size() == 1; }, 3s));
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    INFO(klog_test::read_if_any(dir.file("err")));
    CHECK(klog_test::read_if_any(dir.file("err")).find("--incident-dir") == std::string::npos);
}

// Two outputs: a file (exactly once across restarts) and a tcp collector that is away (no
// spool: memory only). After a stop the ring is read again for the collector; the records the
// file has are skipped for it, but the stage sees them as not delivered (the pipeline feeds it
// `already_delivered` only when no output wants a record) and pipeline::report_incident()
// gives the incident to every output: the file gets the same incident report a second time.
TEST_CASE("attack daemon: an output that had an incident report does not get it again when "
          "another output is behind",
          "[integration][incidents][attack]") {
    klog_test::temp_dir dir;
    klog_test::kmsg_ring ring(dir.file("kmsg.sock"), 1000);
    ring.add(klog_test::kmsg_record(1, 1, 1000000,
                                    "BUG: kernel NULL pointer dereference, address: 0000000000000000"));
    ring.add(klog_test::kmsg_record(4, 2, 1000001, "Oops: 0002 [#1] PREEMPT SMP NOPTI"));
    ring.add(klog_test::kmsg_record(4, 3, 1000002, "RIP: 0010:crash_me+0x5/0x10 [victim]"));
    ring.add(klog_test::kmsg_record(4, 4, 1000003, "---[ end trace 0000000000000000 ]---"));
    ring.add(klog_test::kmsg_record(6, 5, 2000000, "after"));
    const auto log = dir.file("kern.log");
    const std::vector<std::string> args{
        "-n", "-x", "--format=raw", "--source=kmsg:" + ring.path(),
        "--pidfile=" + dir.file("klogd.pid"), "--state-file=" + dir.file("state"),
        "--pstore=none", "--output=file:" + log, "--spool-dir=none",
        "--output=tcp://127.0.0.1:" + std::to_string(klog_test::free_port())};
    for (int run = 0; run < 2; ++run) {
        background_klogd klogd(args, dir.file("err" + std::to_string(run)));
        REQUIRE(eventually([&] { return count_of(klog_test::read_if_any(log), "after") == 1; }));
        std::this_thread::sleep_for(500ms);
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    const auto out = klog_test::read_file(log);
    INFO(out);
    CHECK(count_of(out, "end trace") == 1);  // the kernel's records: once
    CHECK(count_of(out, "klogd: incident oops") == 1);
}

// -d prints every incident's summary on standard error as it is: the title, comm and function
// are kernel bytes, and any task name reaches a kernel line (`<comm>[pid]: segfault ...`;
// prctl(PR_SET_NAME) takes any byte but NUL). An ESC in it reaches the operator's terminal
// raw: it can recolour it, retitle it, clear it. README "Nothing garbled": "a kernel message
// cannot forge a line, a terminal escape". application.cpp report_incident(): diag(summary()).
TEST_CASE("attack: -d does not write a kernel message's terminal escapes to standard error",
          "[integration][incidents][attack]") {
    klog_test::temp_dir dir;
    const std::string replay = std::string("<3>[    1.000000] BUG: \x1b]0;owned\x07\x1b[2J\x1b[31m") +
                               "[4242]: segfault at 0 ip 0 sp 0 error 6\n"
                               "<6>[    2.000000] after\n";
    klog_test::write_file(dir.file("replay.log"), replay);
    const auto r = klog_test::run_klogd({"-o", "-d", "-x", "--source=" + dir.file("replay.log"),
                                         "--output=file:" + dir.file("out.log")});
    CHECK(r.exit_code == 0);
    // The outputs escape it ...
    CHECK(klog_test::read_file(dir.file("out.log")).find('\x1b') == std::string::npos);
    // ... standard error too.
    INFO(r.err);
    CHECK(r.err.find("incident bug") != std::string::npos);
    CHECK(r.err.find('\x1b') == std::string::npos);
    CHECK(r.err.find('\x07') == std::string::npos);
}

// A full disk while an Oops is delivered: the block's last record (the end trace) fits, the
// incident report after it does not. The file output's watermark passes the end trace anyway
// (sink::durable_seq(): an own record pending takes `before`, the seq of the record before it,
// which counts as safe), the cursor is saved there, and the next start, with space again,
// reads the whole block as already delivered: the report is never written, and no record says
// so ("N records not delivered; they are read again from the kernel at the next start" is
// not true of it).
TEST_CASE("attack daemon: an incident report that did not fit on a full disk is written once "
          "there is space",
          "[integration][incidents][attack]") {
    klog_test::temp_dir dir;
    const auto fs = dir.file("fs");
    klog_test::tmpfs_mount mount(fs, "64k");
    if (!mount.mounted()) {
        WARN("no tmpfs (not root): skipped");
        return;
    }
    // Fill the tmpfs, then give back exactly one page: kern.log can take 4096 bytes.
    const auto filler = fs + "/filler";
    {
        const int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        REQUIRE(fd >= 0);
        const std::string chunk(4096, 'f');
        off_t size = 0;
        for (int i = 0; i < 1000; ++i) {
            const auto n = ::write(fd, chunk.data(), chunk.size());
            if (n <= 0) break;
            size += n;
        }
        REQUIRE(::ftruncate(fd, size - 4096) == 0);
        ::close(fd);
    }
    const std::vector<std::string> texts{
        "BUG: kernel NULL pointer dereference, address: 0000000000000000",
        "Oops: 0002 [#1] PREEMPT SMP NOPTI", "RIP: 0010:crash_me+0x5/0x10 [victim]",
        "---[ end trace 0000000000000000 ]---"};
    // Raw lines are `<PRI>[    S.UUUUUU] text\n`: 18 bytes of prefix for these.
    std::size_t used = 0;
    for (const auto& t : texts) used += 3 + 15 + t.size() + 1;
    const std::size_t pad = 4096 - 40 - used - (3 + 15 + 1);  // the report (> 40) will not fit
    klog_test::kmsg_ring ring(dir.file("kmsg.sock"), 1000);
    ring.add(klog_test::kmsg_record(6, 1, 500000, std::string(pad, 'p')));
    for (std::size_t i = 0; i < texts.size(); ++i) {
        ring.add(klog_test::kmsg_record(i == 0 ? 1 : 4, 2 + i, 1000000 + i, texts[i]));
    }
    const auto log = fs + "/kern.log";
    const std::vector<std::string> args{"-n", "-x", "--format=raw", "--source=kmsg:" + ring.path(),
                                        "--pidfile=" + dir.file("klogd.pid"),
                                        "--state-file=" + dir.file("state"), "--pstore=none",
                                        "--output=file:" + log};
    {
        background_klogd klogd(args, dir.file("err1"));
        REQUIRE(eventually([&] { return count_of(klog_test::read_if_any(log), "end trace") == 1; }));
        std::this_thread::sleep_for(1500ms);  // the cursor is saved after the batch
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    const auto first = klog_test::read_file(log);
    INFO(first);
    INFO(klog_test::read_if_any(dir.file("err1")));
    // The setup worked: the end trace fit, the report after it did not (whole).
    REQUIRE(count_of(first, "---[ end trace 0000000000000000 ]---\n") == 1);
    REQUIRE(count_of(first, "signature oops:") == 0);
    // README "A full disk is survived": records "are written when space returns, never torn".
    // A stop leaves the part of the report that fit at the end of the file: close_outputs()
    // calls pipeline_->flush() after out->close(), which had cut it, and writes it again.
    CHECK(first.back() == '\n');
    // Space again, and a new record to wait for.
    std::filesystem::remove(filler);
    ring.add(klog_test::kmsg_record(6, 6, 2000000, "after the disk was freed"));
    {
        background_klogd klogd(args, dir.file("err2"));
        REQUIRE(eventually([&] { return count_of(klog_test::read_if_any(log), "after the disk was freed") == 1; }));
        std::this_thread::sleep_for(500ms);
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    const auto out = klog_test::read_file(log);
    INFO(out);
    CHECK(count_of(out, "end trace") == 1);
    CHECK(count_of(out, "signature oops:crash_me[victim])\n") == 1);  // the whole report, once
}
