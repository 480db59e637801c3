// Address resolution through the real binary: a saved log decoded with saved tables (kallsyms,
// System.map with the offset from kallsyms or from the log's own `Kernel Offset:` line), -2,
// -x, and a running daemon reloading module symbols on USR1 and on an Oops (-p).
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "daemon_harness.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using klog_test::data_path;
using klog_test::run_klogd;

namespace {

const std::string sample_raw =
    "klogd-sample: module addr [<ffffffffc0232000>] core addr [<fffffffface07e3d>] other [<>]";
const std::string sample_expanded =
    "klogd-sample: module addr [<ffffffffc0232000>] crc7_be+0x0/0x1024 [crc7] core addr "
    "[<fffffffface07e3d>] _printk+0x0/0x83 other [<>]";
const std::string sample_core_only =
    "klogd-sample: module addr [<ffffffffc0232000>] core addr [<fffffffface07e3d>] "
    "_printk+0x0/0x83 other [<>]";

std::string sample_line(const std::string& text) { return "<12>[    4.836489] " + text + "\n"; }

std::string replay(const std::vector<std::string>& extra, const std::string& source = "") {
    std::vector<std::string> args{
        "-o", "-f", "-", "--format=raw",
        "--source=" + (source.empty() ? data_path("corpus/kmsg.records") : source)};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = run_klogd(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return r.out;
}

/// The klogd-sample record as a kernel record (facility 0): userspace records get no symbols.
std::string kernel_sample_log() { return "<4>[    4.836489] " + sample_raw + "\n"; }

}  // namespace

TEST_CASE("a saved log resolves with saved kallsyms and module list", "[integration][symbols]") {
    klog_test::temp_dir dir;
    klog_test::write_file(dir.file("saved.log"), kernel_sample_log());
    const auto out = replay({"--kallsyms=" + data_path("symbols/kallsyms"),
                             "--modules=" + data_path("symbols/proc-modules")},
                            dir.file("saved.log"));
    CHECK(out == "<4>[    4.836489] " + sample_expanded + "\n");
}

TEST_CASE("System.map with the KASLR offset taken from kallsyms resolves the same",
          "[integration][symbols]") {
    klog_test::temp_dir dir;
    klog_test::write_file(dir.file("saved.log"), kernel_sample_log());
    const auto out = replay({"-k", data_path("symbols/System.map-6.1.0-56-amd64"),
                             "--kallsyms=" + data_path("symbols/kallsyms"),
                             "--modules=" + data_path("symbols/proc-modules")},
                            dir.file("saved.log"));
    CHECK(out == "<4>[    4.836489] " + sample_expanded + "\n");
}

TEST_CASE("System.map with the offset from the log's own Kernel Offset line",
          "[integration][symbols]") {
    klog_test::temp_dir dir;
    // A panic prints the offset after the trace: the whole saved log is searched first.
    klog_test::write_file(dir.file("oops.log"),
                          kernel_sample_log() +
                              "<0>[    5.000000] Kernel Offset: 0x2b400000 from 0xffffffff81000000 "
                              "(relocation range: 0xffffffff80000000-0xffffffffbfffffff)\n");
    const auto out =
        replay({"-k", data_path("symbols/System.map-6.1.0-56-amd64")}, dir.file("oops.log"));
    // No module table in a System.map: the module address stays raw, the core one resolves.
    CHECK(out.rfind("<4>[    4.836489] " + sample_core_only + "\n", 0) == 0);
}

TEST_CASE("klogd -2 prints the raw line, then the resolved one, -x resolves nothing",
          "[integration][symbols]") {
    klog_test::temp_dir dir;
    klog_test::write_file(dir.file("saved.log"), kernel_sample_log());
    const std::vector<std::string> tables{"--kallsyms=" + data_path("symbols/kallsyms"),
                                          "--modules=" + data_path("symbols/proc-modules")};
    auto both = tables;
    both.push_back("-2");
    CHECK(replay(both, dir.file("saved.log")) ==
          "<4>[    4.836489] " + sample_raw + "\n<4>[    4.836489] " + sample_expanded + "\n");
    auto none = tables;
    none.push_back("-x");
    CHECK(replay(none, dir.file("saved.log")) == kernel_sample_log());
}

TEST_CASE("a replay without tables leaves addresses raw, userspace records are never resolved",
          "[integration][symbols]") {
    const auto out = replay({});
    CHECK(out.find(sample_line(sample_raw)) != std::string::npos);
    const auto with_tables = replay({"--kallsyms=" + data_path("symbols/kallsyms")});
    // In the capture the sample was written by userspace (facility user): left as it is.
    CHECK(with_tables.find(sample_line(sample_raw)) != std::string::npos);
}

TEST_CASE("the daemon reloads module symbols on SIGUSR1 and on an Oops with -p",
          "[integration][symbols]") {
    klog_test::temp_dir dir;
    // Start with a kallsyms that does not know crc7 yet (module loaded after start).
    const auto full = klog_test::read_file(data_path("symbols/kallsyms"));
    std::string without;
    for (std::size_t pos = 0; pos < full.size();) {
        const auto nl = full.find('\n', pos);
        const auto line = full.substr(pos, nl - pos + 1);
        if (line.find("[crc7]") == std::string::npos) without += line;
        pos = nl + 1;
    }
    const auto kallsyms = dir.file("kallsyms");
    klog_test::write_file(kallsyms, without);
    klog_test::kmsg_standin kmsg(dir.file("kmsg.sock"));
    const auto out = dir.file("out.log");
    const auto pid = dir.file("klogd.pid");
    klog_test::background_klogd klogd({"-n", "-d", "-p", "--source=kmsg:" + kmsg.path(), "-f", out,
                                       "--format=raw", "--pidfile=" + pid, "--kallsyms=" + kallsyms,
                                       "--modules=" + data_path("symbols/proc-modules")},
                                      dir.file("err.log"));
    REQUIRE(kmsg.accept(10s));
    auto line_with = [&](const std::string& needle) {
        return klog_test::eventually(
            [&] { return klog_test::read_file(out).find(needle) != std::string::npos; });
    };
    REQUIRE(line_with("klogd: kernel symbols from " + kallsyms));

    kmsg.send(klog_test::kmsg_record(4, 0, 1, "before [<ffffffffc0232000>]"));
    REQUIRE(line_with("before [<ffffffffc0232000>]\n"));  // not known yet: raw

    klog_test::write_file(kallsyms, full);  // the module is loaded now
    klogd.signal(SIGUSR1);
    auto reloads_seen = [&](std::size_t n) {
        return klog_test::eventually([&] {
            const auto err = klog_test::read_file(dir.file("err.log"));
            std::size_t count = 0;
            for (auto at = err.find("SIGUSR1: reloading"); at != std::string::npos;
                 at = err.find("SIGUSR1: reloading", at + 1)) {
                ++count;
            }
            return count >= n;
        });
    };
    REQUIRE(reloads_seen(1));
    kmsg.send(klog_test::kmsg_record(4, 1, 2, "after [<ffffffffc0232000>]"));
    REQUIRE(line_with("after [<ffffffffc0232000>] crc7_be+0x0/0x1024 [crc7]\n"));

    // -p: the Oops line itself is resolved with freshly loaded module symbols.
    klog_test::write_file(kallsyms, without);
    klogd.signal(SIGUSR1);
    REQUIRE(reloads_seen(2));
    kmsg.send(klog_test::kmsg_record(4, 2, 3, "gone [<ffffffffc0232000>]"));
    REQUIRE(line_with("gone [<ffffffffc0232000>]\n"));
    klog_test::write_file(kallsyms, full);
    kmsg.send(klog_test::kmsg_record(1, 3, 4, "Oops: 0002 [#1] at [<ffffffffc0232000>]"));
    REQUIRE(line_with("Oops: 0002 [#1] at [<ffffffffc0232000>] crc7_be+0x0/0x1024 [crc7]\n"));
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(5s) == 0);
}

// -o loads the tables on a thread of its own (records without addresses go out meanwhile).
// Where no thread can be had (a task limit: a pids cgroup, TasksMax, RLIMIT_NPROC) it loaded
// nothing and ended at once (exit 1, no record); it now loads before the first record.
TEST_CASE("one-shot (-o) with symbols and no second thread to be had loads the tables first",
          "[integration][symbols]") {
    klog_test::temp_dir dir;
    REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);  // read by the unprivileged user below
    const auto log = dir.file("saved.log");
    klog_test::write_file(log, kernel_sample_log());
    const auto kallsyms = dir.file("kallsyms");
    const auto modules = dir.file("modules");
    klog_test::write_file(kallsyms, klog_test::read_file(data_path("symbols/kallsyms")));
    klog_test::write_file(modules, klog_test::read_file(data_path("symbols/proc-modules")));
    // One task for a user id nobody else runs as: klogd's own main thread. (LeakSanitizer's
    // check at exit needs a thread of its own: off for this run in the ASan tree.)
    const auto r = klog_test::run_process(
        {"/usr/bin/env", "ASAN_OPTIONS=detect_leaks=0", "/usr/bin/prlimit", "--nproc=1",
         "/usr/bin/setpriv", "--reuid=64999", "--regid=64999", "--clear-groups",
         klog_test::klogd_binary(), "-o", "-f", "-", "--format=raw",
         "--source=" + log, "--kallsyms=" + kallsyms, "--modules=" + modules});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "<4>[    4.836489] " + sample_expanded + "\n");
}

// A table the background load cannot take (more modules than a table holds) came out as an
// exception in the middle of the output: some records written, the rest never, none said.
// Now every record goes out with its addresses raw, and klogd says why and exits 1.
TEST_CASE("one-shot (-o): tables that fail to load leave every address raw and every record out (exit 1)",
          "[integration][symbols]") {
    klog_test::temp_dir dir;
    std::string table = klog_test::read_file(data_path("symbols/kallsyms"));
    for (unsigned i = 0; i < 70'000; ++i) {
        char line[80];
        std::snprintf(line, sizeof line, "ffffffffc1%06x t fn%u\t[m%u]\n", i * 16, i, i);
        table += line;
    }
    klog_test::write_file(dir.file("kallsyms"), table);
    std::string log;
    for (int i = 0; i < 400; ++i) {
        log += "<6>[    1.000000] plain record " + std::to_string(i) + "\n";
        if (i % 100 == 99) log += kernel_sample_log();
    }
    log += "<1>[    2.000000] Oops: 0002 [#1] at [<fffffffface07e3d>]\n";  // -p: a reload
    log += "<6>[    3.000000] after the oops\n";
    klog_test::write_file(dir.file("saved.log"), log);
    REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
    const std::vector<std::string> args{"-o", "-p", "-f", "-", "--format=raw",
                                        "--source=" + dir.file("saved.log"),
                                        "--kallsyms=" + dir.file("kallsyms"),
                                        "--modules=" + data_path("symbols/proc-modules")};
    // With the load on a thread of its own, and (a task limit) without one.
    std::vector<std::string> no_thread{"/usr/bin/env",     "ASAN_OPTIONS=detect_leaks=0",
                                       "/usr/bin/prlimit", "--nproc=1",
                                       "/usr/bin/setpriv", "--reuid=64999",
                                       "--regid=64999",    "--clear-groups",
                                       klog_test::klogd_binary()};
    no_thread.insert(no_thread.end(), args.begin(), args.end());
    for (const auto& r : {run_klogd(args), klog_test::run_process(no_thread)}) {
        CHECK(r.exit_code == 1);
        CHECK(r.err.find("symbol tables: symbol_table: too many modules (every address left raw)") !=
              std::string::npos);
        // All 406 records, addresses as they were, then the report of the Oops.
        CHECK(r.out.substr(0, log.size()) == log);
        CHECK(r.out.substr(log.size()).starts_with("<2,klogd>klogd: incident oops: "));
    }
}

// A reload that fails (here a table with more modules than it holds) ended the running daemon,
// on SIGUSR2 as on an Oops with -p: nothing more was read until a restart.
TEST_CASE("the daemon lives through symbol reloads that fail and keeps its tables",
          "[integration][symbols]") {
    klog_test::temp_dir dir;
    const auto good = klog_test::read_file(data_path("symbols/kallsyms"));
    const auto kallsyms = dir.file("kallsyms");
    klog_test::write_file(kallsyms, good);
    klog_test::kmsg_standin kmsg(dir.file("kmsg.sock"));
    const auto out = dir.file("out.log");
    klog_test::background_klogd klogd({"-n", "-p", "--source=kmsg:" + kmsg.path(), "-f", out,
                                       "--format=raw", "--pidfile=" + dir.file("klogd.pid"),
                                       "--state-file=none", "--pstore=none",
                                       "--kallsyms=" + kallsyms,
                                       "--modules=" + data_path("symbols/proc-modules")},
                                      dir.file("err.log"));
    REQUIRE(kmsg.accept(10s));
    const auto has = [&](const std::string& needle) {
        return klog_test::eventually(
            [&] { return klog_test::read_file(out).find(needle) != std::string::npos; });
    };
    kmsg.send(klog_test::kmsg_record(4, 0, 1, "first [<fffffffface07e3d>]"));
    REQUIRE(has("first [<fffffffface07e3d>] _printk+0x0/0x83\n"));

    std::string bad = good;
    for (unsigned i = 0; i < 70'000; ++i) {
        char line[80];
        std::snprintf(line, sizeof line, "ffffffffc1%06x t fn%u\t[m%u]\n", i * 16, i, i);
        bad += line;
    }
    klog_test::write_file(kallsyms, bad);
    klogd.signal(SIGUSR2);
    REQUIRE(has("cannot reload the symbol tables: symbol_table: too many modules; the ones "
                "loaded before stay in use"));
    kmsg.send(klog_test::kmsg_record(1, 1, 2, "Oops: 0002 [#1] at [<fffffffface07e3d>]"));
    kmsg.send(klog_test::kmsg_record(4, 2, 3, "after [<fffffffface07e3d>]"));
    CHECK(has("after [<fffffffface07e3d>] _printk+0x0/0x83\n"));  // still read, still resolved
    CHECK(klogd.running());
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
}
