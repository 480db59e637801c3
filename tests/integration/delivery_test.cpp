// The delivery promise under attack (issue "Delivery you can trust"): klogd SIGKILLed at random
// moments while a file and a tcp collector that is down, slow, then killed take 200,000
// records; a file on a full tmpfs while the ring overruns; the cursor never ahead of an output.
// klogd reads a stand-in for /dev/kmsg that keeps records like the kernel's ring.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "daemon_harness.hpp"
#include "syslog_receiver.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using klog_test::background_klogd;
using klog_test::eventually;
using klog_test::kmsg_record;

extern char** environ;

namespace {

/// The number at the end of a line or frame ("... record 1234"), nullopt for anything else.
std::optional<std::uint64_t> trailing_number(std::string_view text, std::string_view marker) {
    const auto at = text.rfind(marker);
    if (at == std::string_view::npos) return std::nullopt;
    const auto digits = text.substr(at + marker.size());
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) {
        return std::nullopt;
    }
    return std::stoull(std::string(digits));
}

/// RFC 5424 frames: the kernel seq from the SD element.
std::optional<std::uint64_t> frame_seq(const std::string& frame) {
    const auto at = frame.find("seq=\"");
    if (at == std::string::npos) return std::nullopt;
    return std::stoull(frame.substr(at + 5));
}

std::string numbered(std::uint64_t seq, std::string_view marker, std::size_t pad = 0) {
    std::string text(marker);
    if (pad != 0) text += std::string(pad, 'x') + " ";
    return kmsg_record(6, seq, 1000000 + seq, text + std::to_string(seq));
}

void fill_up(const std::string& path) {
    const std::string block(4096, 'x');
    FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f != nullptr);
    while (std::fwrite(block.data(), 1, block.size(), f) == block.size() && std::fflush(f) == 0) {
    }
    std::fclose(f);
}

}  // namespace

TEST_CASE(
    "kill -9 torture: 200,000 records to a file and a tcp collector that is down, slow, then "
    "killed, klogd SIGKILLed 20 times: the file has each record once, the collector at least once",
    "[integration][delivery]") {
    klog_test::temp_dir dir;
    constexpr std::uint64_t total = 200000;
    klog_test::kmsg_ring ring(dir.file("kmsg.sock"), total + 1000);  // the ring never overruns
    const auto port = klog_test::free_port();
    const auto capture_dir = dir.file("capture");
    std::filesystem::create_directory(capture_dir);
    klog_test::tcp_capture collector(capture_dir, port);
    const auto file = dir.file("kern.log");
    const auto err = dir.file("stderr.log");
    const std::vector<std::string> args{"-n",
                                        "-x",
                                        "-d",
                                        "--format=raw",
                                        "--source=kmsg:" + ring.path(),
                                        "--pidfile=" + dir.file("klogd.pid"),
                                        "--state-file=" + dir.file("state"),
                                        "--output=file:" + file,
                                        "--output=tcp://127.0.0.1:" + std::to_string(port)};
    const auto seed = std::random_device{}();
    INFO("seed " << seed);
    std::mt19937 rng(seed);

    // The kernel keeps logging the whole time (about 10 s).
    std::thread producer([&] {
        for (std::uint64_t seq = 1; seq <= total; ++seq) {
            ring.add(numbered(seq, "torture record "));
            if (seq % 2000 == 0) std::this_thread::sleep_for(100ms);
        }
    });
    std::uniform_int_distribution<int> moment(50, 600);
    for (int kill = 1; kill <= 20; ++kill) {
        if (kill == 7) collector.start(2ms, 4096, 32768);  // slow
        if (kill == 14) {
            collector.kill();  // a crash, with what it had not stored
            collector.start();
        }
        background_klogd klogd(args, err);
        // Killed at a random moment after it started reading (a slow start, as under ASan,
        // would otherwise be killed before it read anything).
        CHECK(eventually([&] { return ring.connections() >= static_cast<std::uint64_t>(kill); },
                         10s));
        std::this_thread::sleep_for(std::chrono::milliseconds(moment(rng)));
        REQUIRE(klogd.running());
        klogd.signal(SIGKILL);
        CHECK(klogd.wait_exit(5s) == 128 + SIGKILL);
    }
    producer.join();

    background_klogd klogd(args, err);
    std::vector<std::string> lines;
    std::vector<std::string> frames;
    std::set<std::uint64_t> at_collector;
    const bool file_done = eventually(
        [&] {
            lines = klog_test::file_lines(file);
            return lines.size() >= total;
        },
        120s);
    const bool collector_done = eventually(
        [&] {
            frames = collector.frames();
            at_collector.clear();
            for (const auto& f : frames) {
                if (const auto s = frame_seq(f)) at_collector.insert(*s);
            }
            return at_collector.size() >= total;
        },
        120s);
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    const auto diagnostics = klog_test::read_file(err);
    INFO(diagnostics.substr(diagnostics.size() > 6000 ? diagnostics.size() - 6000 : 0));
    CHECK(file_done);
    CHECK(collector_done);
    CHECK(ring.connections() == 21);

    // The file: every record exactly once, in order, and nothing reported missing.
    std::uint64_t next = 1;
    std::uint64_t repeated = 0;
    std::uint64_t other = 0;
    for (const auto& line : lines) {
        const auto seq = trailing_number(line, "torture record ");
        if (!seq) {
            ++other;
            continue;
        }
        if (*seq == next) {
            ++next;
        } else if (*seq < next) {
            ++repeated;
        } else {
            FAIL_CHECK("file: record " << *seq << " where " << next << " was due");
            next = *seq + 1;
        }
    }
    std::uint64_t duplicates = 0;
    std::map<std::uint64_t, int> seen;
    for (const auto& f : frames) {
        if (const auto s = frame_seq(f)) {
            if (++seen[*s] > 1) ++duplicates;
        }
    }
    std::cout << "kill -9 torture (seed " << seed << "): file " << (next - 1) << " of " << total
              << " records, " << repeated << " repeated; collector " << at_collector.size()
              << " of " << total << " records, " << duplicates
              << " duplicates (by boot and seq)\n";
    CHECK(next - 1 == total);
    CHECK(repeated == 0);
    CHECK(other == 0);  // no "missed" notice, no torn line
    CHECK(at_collector.size() == total);
    CHECK(*at_collector.begin() == 1);
    CHECK(*at_collector.rbegin() == total);
}

namespace {

/// klogd as a daemon on a ring stand-in, with a state file in a fresh directory.
struct ring_fixture {
    klog_test::temp_dir dir;
    klog_test::kmsg_ring ring{dir.file("kmsg.sock"), 1000000};
    std::string err = dir.file("stderr.log");

    [[nodiscard]] std::vector<std::string> args(const std::vector<std::string>& extra) const {
        std::vector<std::string> a{"-n",
                                   "-d",
                                   "-x",
                                   "--source=kmsg:" + ring.path(),
                                   "--pidfile=" + dir.file("klogd.pid"),
                                   "--state-file=" + dir.file("state")};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
    void add(std::uint64_t from, std::uint64_t to, std::string_view marker, std::size_t pad = 0) {
        for (std::uint64_t s = from; s <= to; ++s) ring.add(numbered(s, marker, pad));
    }
    /// klogd was sent every record (and had a moment to take them in).
    bool all_read(std::uint64_t n) {
        const bool sent = eventually([&] { return ring.sent_to_reader() >= n; }, 20s);
        std::this_thread::sleep_for(300ms);
        return sent;
    }
    [[nodiscard]] std::string diagnostics() const { return klog_test::read_if_any(err); }
    /// One klogd run with `args` until it was sent `n` records, then TERM: a clean stop.
    void run_to_clean_stop(const std::vector<std::string>& args, std::uint64_t n) {
        background_klogd klogd(args, err);
        CHECK(all_read(n));
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
};

/// How many distinct records "MARKER N" (N in 1..total) the frames hold, and how often repeated.
struct tally {
    std::set<std::uint64_t> seqs;
    std::uint64_t repeats = 0;
    std::vector<std::uint64_t> order;
};
tally count_frames(const std::vector<std::string>& frames, std::string_view marker) {
    tally t;
    for (const auto& f : frames) {
        if (const auto s = trailing_number(f, marker)) {
            if (!t.seqs.insert(*s).second) ++t.repeats;
            t.order.push_back(*s);
        }
    }
    return t;
}

/// A saved log of `n` records "MARKER N" in the NUL-separated /dev/kmsg form (what -o replays).
std::string saved_log(const std::string& path, std::uint64_t n, std::string_view marker) {
    std::string bytes;
    for (std::uint64_t s = 1; s <= n; ++s) {
        auto r = numbered(s, marker);
        r.back() = '\0';
        bytes += r;
    }
    klog_test::write_file(path, bytes);
    return path;
}

}  // namespace

TEST_CASE(
    "the cursor never runs ahead of a network output: collector down, 500 records, klogd "
    "stopped (kill -9 or TERM) and restarted with the collector up: all 500 arrive",
    "[integration][delivery]") {
    for (const int stop : {SIGKILL, SIGTERM}) {
        for (const bool spool : {true, false}) {
            for (const bool with_file : {false, true}) {
                DYNAMIC_SECTION((stop == SIGKILL ? "kill -9" : "TERM")
                                << (spool ? ", default spool" : ", --spool-dir=none")
                                << (with_file ? ", a file beside it" : "")) {
                    ring_fixture f;
                    const auto port = klog_test::free_port();
                    const auto capture = f.dir.file("capture");
                    std::filesystem::create_directory(capture);
                    std::vector<std::string> extra{"--output=tcp://127.0.0.1:" +
                                                   std::to_string(port)};
                    if (!spool) extra.push_back("--spool-dir=none");
                    if (with_file) extra.push_back("--output=file:" + f.dir.file("kern.log"));
                    f.add(1, 500, "ahead ");
                    {
                        background_klogd klogd(f.args(extra), f.err);
                        REQUIRE(f.all_read(500));
                        klogd.signal(stop);
                        CHECK(klogd.wait_exit(10s) == (stop == SIGKILL ? 128 + SIGKILL : 0));
                    }
                    klog_test::tcp_capture collector(capture, port);
                    collector.start();
                    background_klogd klogd(f.args(extra), f.err);
                    tally t;
                    const bool all = eventually(
                        [&] { return (t = count_frames(collector.frames(), "ahead ")).seqs.size() >= 500; },
                        20s);
                    klogd.signal(SIGTERM);
                    CHECK(klogd.wait_exit(10s) == 0);
                    INFO(f.diagnostics());
                    CHECK(all);
                    CHECK(t.seqs.size() == 500);
                    if (with_file) {
                        const auto lines = klog_test::file_lines(f.dir.file("kern.log"));
                        CHECK(lines.size() == 500);
                    }
                }
            }
        }
    }
}

TEST_CASE("a spool and a slow collector: klogd killed in the middle of 20,000 records, none vanish",
          "[integration][delivery]") {
    ring_fixture f;
    const auto port = klog_test::free_port();
    const auto capture = f.dir.file("capture");
    std::filesystem::create_directory(capture);
    klog_test::tcp_capture collector(capture, port);
    collector.start(1ms, 2048, 16384);
    const std::vector<std::string> extra{"--output=tcp://127.0.0.1:" + std::to_string(port),
                                         "--spool-dir=" + f.dir.file("spool")};
    f.add(1, 20000, "slow ", 60);
    const auto slow = "slow " + std::string(60, 'x') + " ";
    {
        background_klogd klogd(f.args(extra), f.err);
        REQUIRE(f.all_read(20000));
        CHECK(count_frames(collector.frames(), slow).seqs.size() < 20000);  // still sending
        klogd.signal(SIGKILL);
        klogd.wait_exit(5s);
    }
    collector.kill();
    collector.start();
    background_klogd klogd(f.args(extra), f.err);
    tally t;
    const bool all = eventually(
        [&] { return (t = count_frames(collector.frames(), slow)).seqs.size() >= 20000; }, 60s);
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    INFO(f.diagnostics());
    CHECK(all);
    std::cout << "slow collector, kill -9: " << t.seqs.size() << " of 20000 records, " << t.repeats
              << " duplicates\n";
}

TEST_CASE("TLS: one-shot (-o) to a collector that starts reading 0.5 s after the handshake: every "
          "record arrives, exit 0",
          "[integration][delivery][tls]") {
    klog_test::temp_dir dir;
    const auto pki = klog_test::make_test_pki(dir.path());
    const auto log = saved_log(dir.file("saved.kmsg"), 300, "tls late ");
    for (int run = 1; run <= 4; ++run) {
        const auto capture = dir.file("capture" + std::to_string(run));
        std::filesystem::create_directory(capture);
        const auto port = klog_test::free_port();
        klog_test::tls_capture collector(capture, port, pki, 500ms);
        collector.start();
        const auto r = klog_test::run_klogd({"-o", "-x", "--source=" + log,
                                             "--output=tls://127.0.0.1:" + std::to_string(port),
                                             "--tls-ca=" + pki.ca});
        INFO("run " << run << "\n" << r.err);
        CHECK(r.exit_code == 0);
        tally t;
        CHECK(eventually(
            [&] { return (t = count_frames(collector.frames(), "tls late ")).seqs.size() >= 300; },
            10s));
        CHECK(t.seqs.size() == 300);
    }
}

TEST_CASE("TLS: a daemon stopped with TERM right after reading 10,000 records: all arrive",
          "[integration][delivery][tls]") {
    ring_fixture f;
    const auto pki = klog_test::make_test_pki(f.dir.path());
    const auto capture = f.dir.file("capture");
    std::filesystem::create_directory(capture);
    const auto port = klog_test::free_port();
    klog_test::tls_capture collector(capture, port, pki, 500ms);
    collector.start();
    f.add(1, 10000, "tls term ");
    background_klogd klogd(f.args({"--output=tls://127.0.0.1:" + std::to_string(port),
                                   "--tls-ca=" + pki.ca, "--spool-dir=none"}),
                           f.err);
    REQUIRE(eventually([&] { return f.ring.sent_to_reader() >= 10000; }, 20s));
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    tally t;
    CHECK(eventually(
        [&] { return (t = count_frames(collector.frames(), "tls term ")).seqs.size() >= 10000; },
        10s));
    INFO(f.diagnostics());
    CHECK(t.seqs.size() == 10000);
}

TEST_CASE("one-shot (-o) to a live rsyslogd over tcp, 100,000 records and no spool: every "
          "record arrives, exit 0",
          "[integration][delivery]") {
    klog_test::temp_dir dir;
    const auto pki = klog_test::make_test_pki(dir.path());
    klog_test::rsyslog_receiver rsyslog(dir.path(), pki);
    const auto log = saved_log(dir.file("saved.kmsg"), 100000, "bulk ");
    const auto r = klog_test::run_klogd(
        {"-o", "-x", "--source=" + log,
         "--output=tcp://127.0.0.1:" + std::to_string(rsyslog.tcp_port())},
        {}, 120000);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    std::size_t got = 0;
    CHECK(eventually(
        [&] { return (got = klog_test::parse_received(rsyslog.output()).size()) >= 100000; },
        60s));
    CHECK(got == 100000);
}

TEST_CASE("one-shot (-o) tells the truth: collector down exits 1 with the numbers, a spool exits 0 "
          "with what it keeps, /dev/full and a closed pipe exit 1",
          "[integration][delivery]") {
    klog_test::temp_dir dir;
    const auto log = saved_log(dir.file("saved.kmsg"), 300, "truth ");
    const auto port = klog_test::free_port();  // nobody listens
    SECTION("collector down for the whole deadline") {
        const auto r = klog_test::run_klogd({"-o", "-x", "--source=" + log, "--flush-timeout=1",
                                             "--output=tcp://127.0.0.1:" + std::to_string(port)});
        INFO(r.err);
        CHECK(r.exit_code == 1);
        CHECK(r.err.find("tcp://127.0.0.1:" + std::to_string(port) +
                         ": 300 records not delivered") != std::string::npos);
    }
    SECTION("collector down, --spool-dir: the records wait there") {
        const auto r = klog_test::run_klogd(
            {"-o", "-x", "--source=" + log, "--flush-timeout=1",
             "--output=tcp://127.0.0.1:" + std::to_string(port), "--spool-dir=" + dir.file("sp")});
        INFO(r.err);
        CHECK(r.exit_code == 0);
        CHECK(r.err.find("kept in the spool " + dir.file("sp")) != std::string::npos);
        // The next klogd with that spool sends them.
        const auto capture = dir.file("capture");
        std::filesystem::create_directory(capture);
        klog_test::tcp_capture collector(capture, port);
        collector.start();
        const auto empty = saved_log(dir.file("none.kmsg"), 0, "x");
        const auto again = klog_test::run_klogd(
            {"-o", "-x", "--source=" + empty, "--output=tcp://127.0.0.1:" + std::to_string(port),
             "--spool-dir=" + dir.file("sp")});
        CHECK(again.exit_code == 0);
        tally t;
        CHECK(eventually(
            [&] { return (t = count_frames(collector.frames(), "truth ")).seqs.size() >= 300; }));
        CHECK(t.seqs.size() == 300);
    }
    SECTION("-f /dev/full") {
        const auto r = klog_test::run_klogd(
            {"-o", "-x", "--source=" + log, "--flush-timeout=1", "-f", "/dev/full"});
        INFO(r.err);
        CHECK(r.exit_code == 1);
        CHECK(r.err.find("/dev/full: 300 records not delivered (No space left on device)") !=
              std::string::npos);
    }
    SECTION("standard output is a pipe nobody reads") {
        int p[2];
        REQUIRE(::pipe(p) == 0);
        ::close(p[0]);
        const auto err = dir.file("err.log");
        pid_t pid = 0;
        const std::vector<std::string> argv_s{klog_test::klogd_binary(), "-o", "-x",
                                              "--source=" + log, "-f", "-"};
        std::vector<char*> argv;
        for (const auto& a : argv_s) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, p[1], STDOUT_FILENO);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
        REQUIRE(::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0);
        posix_spawn_file_actions_destroy(&actions);
        ::close(p[1]);
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        INFO(klog_test::read_file(err));
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 1);
        CHECK(klog_test::read_file(err).find("stdout: 300 records not delivered (Broken pipe)") !=
              std::string::npos);
    }
}

TEST_CASE("1 KB records, klogd killed at a random moment and restarted: no line twice in the file",
          "[integration][delivery]") {
    std::mt19937 rng(std::random_device{}());
    std::uniform_int_distribution<int> moment(50, 600);
    int repeated_trials = 0;
    for (int trial = 1; trial <= 18; ++trial) {
        ring_fixture f;
        constexpr std::uint64_t n = 20000;
        f.add(1, n, "kilobyte ", 1000);
        const auto file = f.dir.file("kern.log");
        const auto extra = std::vector<std::string>{"--format=raw", "-f", file};
        {
            background_klogd klogd(f.args(extra), f.err);
            std::this_thread::sleep_for(std::chrono::milliseconds(moment(rng)));
            klogd.signal(SIGKILL);
            klogd.wait_exit(5s);
        }
        background_klogd klogd(f.args(extra), f.err);
        // The new klogd runs (its pid file) and has read the whole ring again.
        CHECK(eventually(
            [&] {
                return klog_test::read_if_any(f.dir.file("klogd.pid")) ==
                       std::to_string(klogd.pid()) + "\n";
            },
            30s));
        CHECK(f.all_read(n));
        std::vector<std::string> lines;
        CHECK(eventually([&] { return (lines = klog_test::file_lines(file)).size() >= n; }, 30s));
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
        const auto t = count_frames(lines, "kilobyte " + std::string(1000, 'x') + " ");
        INFO("trial " << trial << ": " << lines.size() << " lines");
        CHECK(t.seqs.size() == n);
        if (t.repeats != 0 || lines.size() != n) {
            ++repeated_trials;
            std::size_t odd = 0;
            for (const auto& line : lines) {
                if (!trailing_number(line, "kilobyte " + std::string(1000, 'x') + " ")) {
                    std::cerr << "not a record: " << line.substr(0, 100) << " ... "
                              << line.substr(line.size() > 60 ? line.size() - 60 : 0) << "\n";
                    if (++odd > 3) break;
                }
            }
            for (std::size_t i = 1; i < t.order.size(); ++i) {
                if (t.order[i] != t.order[i - 1] + 1) {
                    std::cerr << "line " << i << ": " << t.order[i] << " after "
                              << t.order[i - 1] << "\n";
                    break;
                }
            }
            std::cerr << f.diagnostics().substr(0, 3000) << "\n";
        }
    }
    CHECK(repeated_trials == 0);
}

TEST_CASE("rotated and killed before the cursor was saved again: the new file says what may "
          "follow again",
          "[integration][delivery][file]") {
    // logrotate renamed the file; klogd was killed before it handled the HUP and saved the
    // cursor with the new file: the old file holds records after the saved cursor, and the
    // restart writes them again to the new one. klogd never touches the rotated file: it says so.
    ring_fixture f;
    f.add(1, 5, "rotated ");
    const auto file = f.dir.file("kern.log");
    const auto args = f.args({"--format=raw", "-f", file});
    {
        background_klogd klogd(args, f.err);
        CHECK(f.all_read(5));
        CHECK(eventually([&] { return klog_test::file_lines(file).size() >= 5; }));
        REQUIRE(::rename(file.c_str(), (file + ".1").c_str()) == 0);
        klogd.signal(SIGKILL);
        klogd.wait_exit(5s);
    }
    {
        background_klogd klogd(args, f.err);
        CHECK(f.all_read(5));
        CHECK(eventually([&] { return !klog_test::file_lines(file).empty(); }));
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    const auto lines = klog_test::file_lines(file);
    REQUIRE_FALSE(lines.empty());
    CHECK(lines[0].find(file + ": replaced since the cursor was last saved (seq ") !=
          std::string::npos);
    CHECK(lines[0].find("records after it that the old file holds, if any, follow here again") !=
          std::string::npos);
    // A clean stop saves the new file's position: the next start says nothing.
    const auto before = lines.size();
    f.run_to_clean_stop(args, 5);
    CHECK(klog_test::file_lines(file).size() == before);
}

TEST_CASE("no state file but a file that already holds records: the file says they may follow "
          "again",
          "[integration][delivery][file]") {
    // A state file that could never be written (a full or read-only disk) or was deleted:
    // klogd cannot know whether the file's records are this boot's, and says so in it.
    ring_fixture f;
    f.add(1, 3, "again ");
    const auto file = f.dir.file("kern.log");
    klog_test::write_file(file, "<6>[    0.000001] again 1\n");
    {
        background_klogd klogd(f.args({"--format=raw", "-f", file}), f.err);
        CHECK(f.all_read(3));
        CHECK(eventually([&] { return klog_test::file_lines(file).size() >= 5; }));
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    const auto lines = klog_test::file_lines(file);
    REQUIRE(lines.size() == 5);
    CHECK(lines[1].find("klogd: no saved cursor in " + f.dir.file("state") +
                        ": records of this boot that " + file +
                        " already holds, if any, are written again below") != std::string::npos);
    // With the state file kept, the next start says nothing of the kind.
    f.run_to_clean_stop(f.args({"--format=raw", "-f", file}), 3);
    CHECK(klog_test::file_lines(file).size() == 5);
}

TEST_CASE("a kill right after the first write before any cursor with a ring not starting at "
          "seq zero writes no line twice after the restart",
          "[integration][delivery][file]") {
    // The ring begins at seq 5 (the kernel's ring has wrapped). The first record is critical,
    // so the file gets it at once, before the cursor is saved after the batch: klogd is killed
    // the moment the file has bytes. The saved state must already say where they begin.
    // Also without -x: klogd's own notice ("kernel symbols from ...") is queued before the
    // first kernel record, and the cursor saved before the first write must still say seq 4.
    const bool resolve = GENERATE(false, true);
    INFO("symbols: " << resolve);
    int repeated_trials = 0;
    for (int trial = 1; trial <= 5; ++trial) {
        ring_fixture f;
        constexpr std::uint64_t first = 5;
        constexpr std::uint64_t last = 5000;
        const std::string marker = "early " + std::string(500, 'x') + " ";
        f.ring.add(kmsg_record(2, first, 1000000 + first, marker + std::to_string(first)));
        f.add(first + 1, last, "early ", 500);
        const auto file = f.dir.file("kern.log");
        const auto extra = std::vector<std::string>{"--format=raw", "-f", file};
        auto args = f.args(extra);
        if (resolve) {
            klog_test::write_file(f.dir.file("kallsyms"), "ffffffff81000000 T _text\n"
                                                          "ffffffff81000100 T _printk\n");
            klog_test::write_file(f.dir.file("modules"), "");
            args.erase(std::find(args.begin(), args.end(), "-x"));
            args.push_back("--kallsyms=" + f.dir.file("kallsyms"));
            args.push_back("--modules=" + f.dir.file("modules"));
        }
        {
            background_klogd klogd(args, f.err);
            struct stat st {};
            const auto deadline = std::chrono::steady_clock::now() + 20s;
            while (std::chrono::steady_clock::now() < deadline &&
                   !(::stat(file.c_str(), &st) == 0 && st.st_size > 0)) {
                std::this_thread::yield();
            }
            klogd.signal(SIGKILL);
            klogd.wait_exit(5s);
        }
        background_klogd klogd(args, f.err);
        CHECK(f.all_read(last - first + 1));
        std::vector<std::string> lines;
        CHECK(eventually(
            [&] {
                lines = klog_test::file_lines(file);
                return count_frames(lines, marker).seqs.size() >= last - first + 1;
            },
            30s));
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
        const auto t = count_frames(lines, marker);
        INFO("trial " << trial << ": " << lines.size() << " lines");
        CHECK(t.seqs.size() == last - first + 1);
        if (t.repeats != 0) {
            ++repeated_trials;
            std::cerr << f.diagnostics().substr(0, 2000) << "\n";
        }
    }
    CHECK(repeated_trials == 0);
}

TEST_CASE(
    "a file on a full tmpfs during 250,000 records: every record the ring held is written once, "
    "every one it lost is in exactly one 'missed' notice, reading pauses, memory stays bounded",
    "[integration][delivery][file]") {
    ring_fixture f;
    const auto mnt = f.dir.file("mnt");
    REQUIRE(::mkdir(mnt.c_str(), 0755) == 0);
    klog_test::tmpfs_mount fs(mnt, "24m");
    REQUIRE(fs.mounted());  // the tests run as root (see README)
    const auto file = mnt + "/kern.log";
    // The ring of this "kernel" holds 30,000 records; the file's filesystem is full at first.
    klog_test::kmsg_ring ring(f.dir.file("small-ring.sock"), 30000);
    fill_up(mnt + "/filler");
    // 250,000 records, and more (up to 1,000,000) until klogd paused: on a loaded machine it
    // reads less of what the ring holds and needs longer to have 4 MiB waiting.
    std::atomic<std::uint64_t> produced{0};
    std::atomic<bool> paused{false};
    background_klogd klogd({"-n", "-d", "-x", "--format=raw", "--source=kmsg:" + ring.path(),
                            "--pidfile=" + f.dir.file("pid"), "--state-file=" + f.dir.file("state"),
                            "-f", file},
                           f.err);
    std::thread producer([&] {
        for (std::uint64_t seq = 1; seq <= 250000 || (!paused && seq <= 1000000); ++seq) {
            ring.add(numbered(seq, "full disk "));
            produced = seq;
            if (seq % 5000 == 0) std::this_thread::sleep_for(20ms);
        }
    });
    // The output fills up and klogd stops reading: the ring overruns meanwhile.
    paused = eventually(
        [&] { return f.diagnostics().find("reading paused") != std::string::npos; }, 60s);
    CHECK(paused);
    std::this_thread::sleep_for(2s);
    const auto paused_rss = klog_test::peak_rss_kib(klogd.pid());
    REQUIRE(::unlink((mnt + "/filler").c_str()) == 0);  // space returns
    producer.join();
    const std::uint64_t total = produced;
    std::vector<std::string> lines;
    CHECK(eventually(
        [&] {
            lines = klog_test::file_lines(file);
            return !lines.empty() && trailing_number(lines.back(), "full disk ") == total;
        },
        60s));
    const auto peak_rss = klog_test::peak_rss_kib(klogd.pid());
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    INFO(f.diagnostics().substr(0, 4000));

    // Walk the file: records in order, and every gap exactly covered by one notice right before
    // the record after it.
    std::uint64_t expected = 1;
    std::uint64_t delivered = 0;
    std::uint64_t missed = 0;
    std::uint64_t notices = 0;
    std::optional<std::pair<std::uint64_t, std::uint64_t>> said;  // the last notice's range
    for (const auto& line : lines) {
        if (const auto seq = trailing_number(line, "full disk ")) {
            if (*seq != expected) {
                INFO("record " << *seq << " after " << (expected - 1));
                REQUIRE(said);
                CHECK(said->first == expected);
                CHECK(said->second == *seq - 1);
            }
            said.reset();
            ++delivered;
            expected = *seq + 1;
            continue;
        }
        const auto at = line.find("klogd: missed ");
        REQUIRE(at != std::string::npos);
        ++notices;
        std::uint64_t n = 0, a = 0, b = 0;
        REQUIRE(std::sscanf(line.c_str() + at, "klogd: missed %lu kernel messages (seq %lu..%lu)",
                            &n, &a, &b) == 3);
        CHECK(n == b - a + 1);
        CHECK_FALSE(said);  // one notice per gap
        said = {a, b};
        missed += n;
    }
    std::cout << "full tmpfs: " << delivered << " records written, " << missed
              << " lost by the ring in " << notices << " notice(s); peak RSS " << peak_rss / 1024
              << " MiB (" << paused_rss / 1024 << " MiB while paused)\n";
    CHECK(expected == total + 1);
    CHECK(delivered + missed == total);
    CHECK(missed > 0);  // the ring did overrun while klogd waited
#ifndef KLOG_TEST_SANITIZED
    CHECK(peak_rss < 48 * 1024);  // the file's 4 MiB and a read batch, not the 250,000 records
#endif
}

TEST_CASE("a spool on a full disk: records go from memory, reading pauses, nothing is lost",
          "[integration][delivery]") {
    ring_fixture f;
    const auto mnt = f.dir.file("mnt");
    REQUIRE(::mkdir(mnt.c_str(), 0755) == 0);
    klog_test::tmpfs_mount fs(mnt, "256k");
    REQUIRE(fs.mounted());
    fill_up(mnt + "/filler");
    const auto port = klog_test::free_port();
    const auto capture = f.dir.file("capture");
    std::filesystem::create_directory(capture);
    f.add(1, 30000, "spool full ");
    background_klogd klogd(f.args({"--output=tcp://127.0.0.1:" + std::to_string(port),
                                   "--spool-dir=" + mnt + "/spool"}),
                           f.err);
    // The collector is away and the spool cannot take anything: klogd stops reading.
    CHECK(eventually([&] { return f.diagnostics().find("reading paused") != std::string::npos; },
                     20s));
    std::this_thread::sleep_for(1s);
    CHECK(f.ring.sent_to_reader() < 30000);
    const auto rss = klog_test::peak_rss_kib(klogd.pid());
    klog_test::tcp_capture collector(capture, port);
    collector.start();
    tally t;
    const bool all = eventually(
        [&] { return (t = count_frames(collector.frames(), "spool full ")).seqs.size() >= 30000; },
        60s);
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    const auto diagnostics = f.diagnostics();
    INFO(diagnostics.substr(0, 4000));
    CHECK(all);
    CHECK(t.seqs.size() == 30000);
    CHECK(diagnostics.find("klogd: missed") == std::string::npos);
    CHECK(diagnostics.find(" 0 missed,") != std::string::npos);
    std::cout << "spool on a full disk: peak RSS " << rss / 1024 << " MiB while paused\n";
#ifndef KLOG_TEST_SANITIZED
    CHECK(rss < 48 * 1024);  // the queue's caps, not the 30,000 records
#endif
}

TEST_CASE("local syslog away for 20,000 records: nothing dropped, all arrive in order when it "
          "comes",
          "[integration][delivery][syslog]") {
    ring_fixture f;
    const auto sock = f.dir.file("log.sock");
    f.add(1, 20000, "syslog away ");
    background_klogd klogd(f.args({"--output=syslog:" + sock}), f.err);
    CHECK(eventually([&] { return f.diagnostics().find("reading paused") != std::string::npos; },
                     20s));
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, sock.c_str(), sock.size());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::vector<std::uint64_t> got;
    char buf[2048];
    while (got.size() < 20000) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        if (const auto s = trailing_number(std::string_view(buf, static_cast<std::size_t>(n)),
                                           "syslog away ")) {
            got.push_back(*s);
        }
    }
    ::close(fd);
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    INFO(f.diagnostics().substr(0, 3000));
    REQUIRE(got.size() == 20000);
    for (std::uint64_t i = 0; i < 20000; ++i) CHECK(got[i] == i + 1);
}

TEST_CASE("SIGHUP reconnects send again only what was not acknowledged (50 HUPs, tcp and tls)",
          "[integration][delivery]") {
    for (const bool tls : {false, true}) {
        DYNAMIC_SECTION((tls ? "tls" : "tcp")) {
            ring_fixture f;
            const auto pki = klog_test::make_test_pki(f.dir.path());
            const auto port = klog_test::free_port();
            const auto capture = f.dir.file("capture");
            std::filesystem::create_directory(capture);
            std::unique_ptr<klog_test::tcp_capture> tcp;
            std::unique_ptr<klog_test::tls_capture> secure;
            if (tls) {
                secure = std::make_unique<klog_test::tls_capture>(capture, port, pki);
                secure->start();
            } else {
                tcp = std::make_unique<klog_test::tcp_capture>(capture, port);
                tcp->start();
            }
            const auto frames = [&] { return tls ? secure->frames() : tcp->frames(); };
            std::vector<std::string> extra{
                std::string(tls ? "--output=tls://" : "--output=tcp://") + "127.0.0.1:" +
                std::to_string(port)};
            if (tls) extra.push_back("--tls-ca=" + pki.ca);
            background_klogd klogd(f.args(extra), f.err);
            const auto connects = [&] {
                const auto d = f.diagnostics();
                std::size_t n = 0;
                for (auto at = d.find(": connected"); at != std::string::npos;
                     at = d.find(": connected", at + 1)) {
                    ++n;
                }
                return n;
            };
            f.add(1, 1, "hup ");
            REQUIRE(eventually([&] { return count_frames(frames(), "hup ").seqs.size() == 1; }));
            for (std::size_t i = 1; i <= 50; ++i) {
                klogd.signal(SIGHUP);
                REQUIRE(eventually([&] { return connects() >= i + 1; }));
            }
            f.add(2, 2, "hup ");
            tally t;
            CHECK(eventually([&] { return (t = count_frames(frames(), "hup ")).seqs.size() == 2; }));
            klogd.signal(SIGTERM);
            CHECK(klogd.wait_exit(10s) == 0);
            INFO(f.diagnostics().substr(0, 3000));
            CHECK(t.order == std::vector<std::uint64_t>{1, 2});
        }
    }
}

TEST_CASE("klogd --user=nobody: the state directory and the spool are prepared for the user, the "
          "cursor is saved, a restart repeats nothing",
          "[integration][delivery][daemon]") {
    ring_fixture f;
    REQUIRE(::chmod(f.dir.path().c_str(), 0755) == 0);  // nobody must reach what is inside
    const auto state_dir = f.dir.file("lib");          // made by klogd, given to nobody
    const auto file = f.dir.file("kern.log");
    const auto port = klog_test::free_port();
    const auto capture = f.dir.file("capture");
    std::filesystem::create_directory(capture);
    const std::vector<std::string> args{"-n",
                                        "-d",
                                        "-x",
                                        "--user=nobody",
                                        "--format=raw",
                                        "--source=kmsg:" + f.ring.path(),
                                        "--pidfile=" + f.dir.file("klogd.pid"),
                                        "--state-file=" + state_dir + "/state",
                                        "-f",
                                        file,
                                        "--output=tcp://127.0.0.1:" + std::to_string(port)};
    f.add(1, 300, "as nobody ");
    {
        background_klogd klogd(args, f.err);
        CHECK(eventually([&] { return klog_test::file_lines(file).size() == 300; }));
        CHECK(eventually([&] {
            return klog_test::read_if_any(state_dir + "/state").find("output.seq=300") !=
                   std::string::npos;
        }));
        klogd.signal(SIGKILL);
        klogd.wait_exit(5s);
    }
    INFO(f.diagnostics());
    CHECK(f.diagnostics().find("cannot save the cursor") == std::string::npos);
    struct stat st {};
    REQUIRE(::stat(state_dir.c_str(), &st) == 0);
    CHECK(st.st_uid != 0);
    f.add(301, 310, "as nobody ");
    klog_test::tcp_capture collector(capture, port);
    collector.start();
    background_klogd klogd(args, f.err);
    tally t;
    CHECK(eventually(
        [&] { return (t = count_frames(collector.frames(), "as nobody ")).seqs.size() == 310; }));
    CHECK(eventually([&] { return klog_test::file_lines(file).size() == 310; }));
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    const auto lines = klog_test::file_lines(file);
    const auto in_file = count_frames(lines, "as nobody ");
    CHECK(lines.size() == 310);
    CHECK(in_file.repeats == 0);
}

TEST_CASE("logrotate and HUP while the disk is full in the middle of a record: no torn line in "
          "either file, every record once",
          "[integration][delivery][file]") {
    ring_fixture f;
    const auto mnt = f.dir.file("mnt");
    REQUIRE(::mkdir(mnt.c_str(), 0755) == 0);
    klog_test::tmpfs_mount fs(mnt, "256k");
    REQUIRE(fs.mounted());
    fill_up(mnt + "/filler");
    // One page free: the first write of a batch stops in the middle of a record.
    std::filesystem::resize_file(mnt + "/filler", std::filesystem::file_size(mnt + "/filler") - 4096);
    const auto file = mnt + "/kern.log";
    const auto pad = std::string(300, 'x') + " ";
    f.add(1, 100, "rotated ", 300);
    background_klogd klogd(f.args({"--format=raw", "-f", file}), f.err);
    REQUIRE(eventually([&] {
        return f.diagnostics().find("No space left on device (kept in memory") != std::string::npos;
    }));
    const auto torn_size = std::filesystem::file_size(file);
    CHECK(torn_size > 0);
    REQUIRE(::rename(file.c_str(), (file + ".1").c_str()) == 0);  // logrotate's create
    klogd.signal(SIGHUP);                                           // while the disk is full
    CHECK(eventually([&] { return f.diagnostics().find("SIGHUP") != std::string::npos; }));
    std::this_thread::sleep_for(200ms);
    ::unlink((mnt + "/filler").c_str());  // space returns
    std::vector<std::string> lines;
    CHECK(eventually([&] { return (lines = klog_test::file_lines(file)).size() + klog_test::file_lines(file + ".1").size() >= 100; }));
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    const auto old_bytes = klog_test::read_file(file + ".1");
    const auto new_bytes = klog_test::read_file(file);
    INFO(f.diagnostics());
    CHECK((old_bytes.empty() || old_bytes.back() == '\n'));
    std::vector<std::string> all = klog_test::file_lines(file + ".1");
    for (const auto& l : klog_test::file_lines(file)) all.push_back(l);
    const auto t = count_frames(all, "rotated " + pad);
    CHECK(all.size() == 100);
    CHECK(t.seqs.size() == 100);
    CHECK(t.repeats == 0);
    INFO(new_bytes.substr(0, 80));
    CHECK(new_bytes.rfind("<6>[", 0) == 0);  // the new file starts with a whole record
    CHECK(old_bytes.size() < torn_size);      // the torn start of a record was cut off
}
