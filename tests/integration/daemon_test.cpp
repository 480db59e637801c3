// The real klogd binary as a daemon: records from a SOCK_SEQPACKET stand-in for /dev/kmsg,
// every signal acting while no kernel message arrives, pid file rules, -i without a daemon.
#include <fcntl.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

#include "daemon_harness.hpp"
#include "syslog_receiver.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using klog_test::background_klogd;
using klog_test::eventually;
using klog_test::file_lines;
using klog_test::kmsg_record;
using klog_test::kmsg_standin;
using klog_test::read_if_any;

namespace {

std::size_t file_lines_of(const std::string& text) {
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

/// "r0", "r1", ...: appended, because g++ 12 at -O3 reports a false -Wrestrict (memcpy
/// overlap inside the inlined string insert) for "r" + std::to_string(i).
std::string text_r(int i) { return std::string("r").append(std::to_string(i)); }

/// The sequence number of the newest record in this machine's ring: /dev/kmsg read to its end
/// without waiting (reading /dev/kmsg takes nothing from anybody). -1 if it cannot be read.
long long newest_kmsg_seq() {
    const int fd = ::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -1;
    long long newest = -1;
    char record[8192];
    for (int i = 0; i < 1'000'000; ++i) {  // a ring holds far fewer records
        const ssize_t n = ::read(fd, record, sizeof record);
        if (n < 0 && errno == EPIPE) continue;  // overwritten while reading: go on
        if (n <= 0) break;
        const std::string_view r(record, static_cast<std::size_t>(n));
        const auto comma = r.find(',');
        if (comma != std::string_view::npos)
            newest =
                std::stoll(std::string(r.substr(comma + 1, r.find(',', comma + 1) - comma - 1)));
    }
    ::close(fd);
    return newest;
}

/// The seq= a klogd state file holds, -1 if none yet ("seq=none" before anything is delivered).
long long saved_seq(const std::string& state) {
    const auto text = read_if_any(state);
    const auto at = text.find("\nseq=");
    if (at == std::string::npos || !std::isdigit(static_cast<unsigned char>(text[at + 5])))
        return -1;
    return std::stoll(text.substr(at + 5));
}

/// A saved `dmesg -r` log at `path`: "<6>[N.000000] record number N" for N = 1..total.
void write_numbered_dmesg(const std::string& path, int total) {
    std::string text;
    for (int i = 1; i <= total; ++i) {
        const auto n = std::to_string(i);
        text.append("<6>[").append(n).append(".000000] record number ").append(n) += '\n';
    }
    klog_test::write_file(path, text);
}

struct daemon_fixture {
    klog_test::temp_dir dir;
    kmsg_standin kmsg{dir.file("kmsg.sock")};
    std::string out = dir.file("out.log");
    std::string err = dir.file("stderr.log");
    std::string pid = dir.file("klogd.pid");

    std::vector<std::string> args(const std::vector<std::string>& extra = {}) const {
        std::vector<std::string> a{"-n",
                                   "-d",
                                   "--source=kmsg:" + kmsg.path(),
                                   "-f",
                                   out,
                                   "--format=raw",
                                   "--pidfile=" + pid,
                                   "-x"};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
    /// klogd connected and wrote its pid file (its signal handlers are in place by then).
    bool ready(const background_klogd& k) {
        return kmsg.accept(10s) &&
               eventually([&] { return read_if_any(pid) == std::to_string(k.pid()) + "\n"; });
    }
    std::string diagnostics() const { return klog_test::read_file(err); }
    bool has_lines(std::size_t n) const {
        return eventually([&] { return file_lines(out).size() >= n; });
    }
};

}  // namespace

TEST_CASE("klogd -n delivers records from a stand-in kmsg in order, TERM ends it cleanly",
          "[integration][daemon]") {
    daemon_fixture f;
    background_klogd klogd(f.args(), f.err);
    REQUIRE(f.ready(klogd));
    for (int i = 0; i < 100; ++i)
        f.kmsg.send(kmsg_record(6, i, 1000000U + i, "record " + std::to_string(i)));
    REQUIRE(f.has_lines(100));
    const auto lines = file_lines(f.out);
    REQUIRE(lines.size() == 100);
    for (int i = 0; i < 100; ++i) {
        CHECK(lines[i] == "<6>[    1.0000" + std::string(i < 10 ? "0" : "") + std::to_string(i) +
                              "] record " + std::to_string(i));
    }
    REQUIRE(eventually([&] { return ::access(f.pid.c_str(), F_OK) == 0; }));
    CHECK(std::stoi(read_if_any(f.pid)) == klogd.pid());

    klogd.signal(SIGTERM);  // no kernel message follows: it must act at once
    CHECK(klogd.wait_exit(5s) == 0);
    CHECK(::access(f.pid.c_str(), F_OK) != 0);
    INFO(f.diagnostics());
    CHECK(f.diagnostics().find("stopping on SIGTERM") != std::string::npos);
}

TEST_CASE("SIGINT stops klogd like SIGTERM", "[integration][daemon]") {
    daemon_fixture f;
    background_klogd klogd(f.args(), f.err);
    REQUIRE(f.ready(klogd));
    klogd.signal(SIGINT);
    CHECK(klogd.wait_exit(5s) == 0);
    CHECK(::access(f.pid.c_str(), F_OK) != 0);
}

TEST_CASE("a gap in sequence numbers becomes one 'missed' record", "[integration][daemon]") {
    daemon_fixture f;
    background_klogd klogd(f.args(), f.err);
    REQUIRE(f.ready(klogd));
    f.kmsg.send(kmsg_record(6, 10, 1, "before"));
    f.kmsg.send(kmsg_record(6, 15, 2, "after"));
    REQUIRE(f.has_lines(3));
    const auto lines = file_lines(f.out);
    CHECK(lines[0] == "<6>[    0.000001] before");
    CHECK(lines[1] == "<4,klogd>klogd: missed 4 kernel messages (seq 11..14)");
    CHECK(lines[2] == "<6>[    0.000002] after");
}

TEST_CASE("SIGHUP reopens the output file (logrotate create)", "[integration][daemon]") {
    daemon_fixture f;
    background_klogd klogd(f.args(), f.err);
    REQUIRE(f.ready(klogd));
    f.kmsg.send(kmsg_record(6, 0, 1, "first"));
    REQUIRE(f.has_lines(1));
    REQUIRE(::rename(f.out.c_str(), (f.out + ".1").c_str()) == 0);
    klogd.signal(SIGHUP);
    REQUIRE(eventually([&] { return ::access(f.out.c_str(), F_OK) == 0; }));
    f.kmsg.send(kmsg_record(6, 1, 2, "second"));
    REQUIRE(f.has_lines(1));
    CHECK(file_lines(f.out + ".1") == std::vector<std::string>{"<6>[    0.000001] first"});
    CHECK(file_lines(f.out) == std::vector<std::string>{"<6>[    0.000002] second"});
    CHECK(klogd.running());
}

TEST_CASE("SIGTSTP closes the source, SIGCONT reopens it and continues after the last record",
          "[integration][daemon]") {
    daemon_fixture f;
    background_klogd klogd(f.args(), f.err);
    REQUIRE(f.ready(klogd));
    for (int i = 0; i < 3; ++i) f.kmsg.send(kmsg_record(6, i, 1, text_r(i)));
    REQUIRE(f.has_lines(3));

    klogd.signal(SIGTSTP);
    REQUIRE(f.kmsg.wait_closed(5s));  // the kernel interface is released at once
    CHECK(klogd.running());

    klogd.signal(SIGCONT);
    REQUIRE(f.kmsg.accept(5s));
    // Like /dev/kmsg, the reopened source starts again at the oldest record it holds.
    for (int i = 0; i < 5; ++i) f.kmsg.send(kmsg_record(6, i, 1, text_r(i)));
    REQUIRE(f.has_lines(5));
    const auto lines = file_lines(f.out);
    REQUIRE(lines.size() == 5);
    for (int i = 0; i < 5; ++i) CHECK(lines[i] == "<6>[    0.000001] r" + std::to_string(i));
    const auto diag = f.diagnostics();
    CHECK(diag.find("SIGTSTP") != std::string::npos);
    CHECK(diag.find("SIGCONT") != std::string::npos);
}

TEST_CASE("a second daemon is refused and the first keeps its pid file", "[integration][daemon]") {
    daemon_fixture f;
    background_klogd first(f.args(), f.err);
    REQUIRE(f.ready(first));
    REQUIRE(eventually(
        [&] { return ::access(f.pid.c_str(), F_OK) == 0 && read_if_any(f.pid).size() > 1; }));
    const auto before = read_if_any(f.pid);

    const auto second = klog_test::run_klogd(f.args({}), "", 10000);
    CHECK(second.exit_code == 1);
    CHECK(second.err.find("already running (pid " + std::to_string(first.pid())) !=
          std::string::npos);
    CHECK(read_if_any(f.pid) == before);
    CHECK(first.running());
    first.signal(SIGTERM);
    CHECK(first.wait_exit(5s) == 0);
}

TEST_CASE("a stale pid file is taken over", "[integration][daemon]") {
    daemon_fixture f;
    klog_test::write_file(f.pid, "999999\n");
    background_klogd klogd(f.args(), f.err);
    REQUIRE(f.ready(klogd));
    REQUIRE(eventually([&] { return read_if_any(f.pid) == std::to_string(klogd.pid()) + "\n"; }));
}

TEST_CASE("klogd -i with no daemon running fails clearly and signals nobody",
          "[integration][daemon]") {
    klog_test::temp_dir dir;
    // A stale pid file naming this very test process: signalling it would kill the test.
    const auto pid = dir.file("klogd.pid");
    klog_test::write_file(pid, std::to_string(::getpid()) + "\n");
    for (const char* sw : {"-i", "-I"}) {
        const auto r = klog_test::run_klogd({sw, "--pidfile=" + pid});
        CHECK(r.exit_code == 1);
        CHECK(r.err.find("no klogd running") != std::string::npos);
    }
    const auto missing = klog_test::run_klogd({"-i", "--pidfile=" + dir.file("none.pid")});
    CHECK(missing.exit_code == 1);
    CHECK(missing.err.find("no klogd running") != std::string::npos);
}

TEST_CASE("klogd -i and -I signal the running daemon", "[integration][daemon]") {
    daemon_fixture f;
    background_klogd klogd(f.args(), f.err);
    REQUIRE(f.ready(klogd));
    REQUIRE(eventually([&] { return read_if_any(f.pid).size() > 1; }));
    const auto r = klog_test::run_klogd({"-i", "--pidfile=" + f.pid});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("pid " + std::to_string(klogd.pid())) != std::string::npos);
    REQUIRE(eventually([&] { return f.diagnostics().find("SIGUSR1") != std::string::npos; }));
    const auto all = klog_test::run_klogd({"-I", "--pidfile=" + f.pid});
    CHECK(all.exit_code == 0);
    REQUIRE(eventually([&] { return f.diagnostics().find("SIGUSR2") != std::string::npos; }));
    CHECK(klogd.running());
}

TEST_CASE("without -n klogd detaches, writes the child's pid and errors reach the terminal",
          "[integration][daemon]") {
    daemon_fixture f;
    // No -n; no -d either: with -d the daemon keeps standard error (the test's pipe) open.
    auto args = f.args();
    args.erase(args.begin(), args.begin() + 2);
    const auto started = klog_test::run_klogd(args, "", 10000);
    REQUIRE(started.exit_code == 0);  // the parent returns once the daemon is reading
    REQUIRE(f.kmsg.accept(10s));
    REQUIRE(eventually([&] { return read_if_any(f.pid).size() > 1; }));
    const pid_t child = std::stoi(read_if_any(f.pid));
    CHECK(::kill(child, 0) == 0);
    f.kmsg.send(kmsg_record(6, 0, 1, "detached"));
    REQUIRE(f.has_lines(1));
    REQUIRE(::kill(child, SIGTERM) == 0);
    CHECK(eventually([&] { return ::access(f.pid.c_str(), F_OK) != 0; }, 5s));

    // A source that cannot be opened is reported on the terminal, exit 1, no pid file left.
    const std::vector<std::string> bad{"--source=kmsg:" + f.dir.file("missing.sock"), "-f", f.out,
                                       "--pidfile=" + f.pid};
    const auto failed = klog_test::run_klogd(bad, "", 10000);
    CHECK(failed.exit_code == 1);
    CHECK(failed.err.find("missing.sock") != std::string::npos);
}

TEST_CASE("READY=1 and STOPPING=1 go to $NOTIFY_SOCKET", "[integration][daemon]") {
    daemon_fixture f;
    const auto sock_path = f.dir.file("notify.sock");
    const int sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(sock >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, sock_path.c_str(), sock_path.size());
    REQUIRE(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    background_klogd klogd(f.args(), f.err, {"NOTIFY_SOCKET=" + sock_path});
    REQUIRE(f.ready(klogd));
    timeval tv{10, 0};
    ::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[64] = {};
    REQUIRE(::recv(sock, buf, sizeof buf - 1, 0) > 0);
    CHECK(std::string(buf) == "READY=1");
    klogd.signal(SIGTERM);
    std::memset(buf, 0, sizeof buf);
    REQUIRE(::recv(sock, buf, sizeof buf - 1, 0) > 0);
    CHECK(std::string(buf) == "STOPPING=1");
    CHECK(klogd.wait_exit(5s) == 0);
    ::close(sock);
}

TEST_CASE("klogd --user drops privileges after opening", "[integration][daemon]") {
    daemon_fixture f;
    ::chmod(f.dir.path().c_str(), 0755);
    background_klogd klogd(f.args({"--user=nobody"}), f.err);
    REQUIRE(f.ready(klogd));
    f.kmsg.send(kmsg_record(6, 0, 1, "as nobody"));
    REQUIRE(f.has_lines(1));
    const auto status = klog_test::read_file("/proc/" + std::to_string(klogd.pid()) + "/status");
    const auto uid_line = status.substr(
        status.find("Uid:"), status.find('\n', status.find("Uid:")) - status.find("Uid:"));
    CHECK(uid_line.find("\t0\t") == std::string::npos);
    CHECK(uid_line.find("65534") != std::string::npos);
}

TEST_CASE("proc:PATH reads /proc/kmsg-style text with lines split across reads",
          "[integration][daemon]") {
    klog_test::temp_dir dir;
    const auto fifo = dir.file("kmsg.fifo");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    // Hold the FIFO open for writing first: with no writer at all a FIFO reads as ended.
    const int writer = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
    REQUIRE(writer >= 0);
    const auto out = dir.file("out.log");
    background_klogd klogd({"-n", "-x", "--source=proc:" + fifo, "-f", out, "--format=raw",
                            "--pidfile=" + dir.file("p.pid")},
                           dir.file("err.log"));
    auto put = [&](const std::string& bytes) {
        REQUIRE(::write(writer, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    };
    put("<6>[    1.000000] first li");
    std::this_thread::sleep_for(100ms);
    put("ne\n<12>[    2.000000] user\x01 line\n");
    REQUIRE(eventually([&] { return file_lines(out).size() >= 2; }));
    CHECK(file_lines(out) == std::vector<std::string>{"<6>[    1.000000] first line",
                                                      "<12>[    2.000000] user\\x01 line"});
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(5s) == 0);
    ::close(writer);
}

TEST_CASE("cursor: SIGKILL and restart in the same boot repeats and loses nothing",
          "[integration][daemon][cursor]") {
    daemon_fixture f;
    const auto state = f.dir.file("state");
    const auto args = f.args({"--state-file=" + state});
    // The stand-in behaves like /dev/kmsg: a new reader starts at the oldest record it holds.
    std::vector<std::string> ring;
    for (int i = 0; i < 100; ++i) ring.push_back(kmsg_record(6, i, 1000 + i, text_r(i)));
    {
        background_klogd first(args, f.err);
        REQUIRE(f.ready(first));
        for (int i = 0; i < 50; ++i) f.kmsg.send(ring[i]);
        REQUIRE(f.has_lines(50));
        REQUIRE(
            eventually([&] { return read_if_any(state).find("\nseq=49\n") != std::string::npos; }));
        first.signal(SIGKILL);
        CHECK(first.wait_exit(5s) == 128 + SIGKILL);
    }
    ::unlink(f.pid.c_str());
    {
        background_klogd second(args, f.err);
        REQUIRE(f.ready(second));
        for (const auto& r : ring) f.kmsg.send(r);
        REQUIRE(f.has_lines(100));
        second.signal(SIGTERM);
        CHECK(second.wait_exit(5s) == 0);
    }
    const auto lines = file_lines(f.out);
    REQUIRE(lines.size() == 100);
    for (int i = 0; i < 100; ++i) CHECK(lines[i].ends_with("] r" + std::to_string(i)));
    CHECK(read_if_any(state).find("\nseq=99\n") != std::string::npos);
}

TEST_CASE("cursor: records the ring lost while klogd was down are reported",
          "[integration][daemon][cursor]") {
    daemon_fixture f;
    const auto state = f.dir.file("state");
    const auto boot = read_if_any("/proc/sys/kernel/random/boot_id");
    klog_test::write_file(state, "boot_id=" + boot.substr(0, boot.find('\n')) + "\nseq=49\n");
    background_klogd klogd(f.args({"--state-file=" + state}), f.err);
    REQUIRE(f.ready(klogd));
    for (int i = 60; i < 62; ++i) f.kmsg.send(kmsg_record(6, i, 1, text_r(i)));
    REQUIRE(f.has_lines(3));
    const auto lines = file_lines(f.out);
    CHECK(lines[0] == "<4,klogd>klogd: missed 10 kernel messages (seq 50..59)");
    CHECK(lines[1] == "<6>[    0.000001] r60");
    CHECK(lines[2] == "<6>[    0.000001] r61");
}

TEST_CASE("cursor: a cursor from another boot means the whole ring is read",
          "[integration][daemon][cursor]") {
    daemon_fixture f;
    const auto state = f.dir.file("state");
    klog_test::write_file(state, "boot_id=00000000-0000-0000-0000-000000000000\nseq=49\n");
    background_klogd klogd(f.args({"--state-file=" + state}), f.err);
    REQUIRE(f.ready(klogd));
    for (int i = 0; i < 3; ++i) f.kmsg.send(kmsg_record(6, i, 1, text_r(i)));
    REQUIRE(f.has_lines(3));
    CHECK(file_lines(f.out)[0] == "<6>[    0.000001] r0");
    CHECK(f.diagnostics().find("from another boot") != std::string::npos);
    // A state file that does not parse is said and ignored, never fatal.
    klogd.signal(SIGTERM);
    REQUIRE(klogd.wait_exit(5s) == 0);
    klog_test::write_file(state, "garbage");
    background_klogd again(f.args({"--state-file=" + state}), f.err);
    REQUIRE(f.ready(again));
    CHECK(eventually(
        [&] { return f.diagnostics().find("not a klogd state file") != std::string::npos; }));
}

TEST_CASE(
    "on this machine: klogd -n -f FILE reads /dev/kmsg, TSTP/CONT keep it reading, TERM "
    "removes the pid file",
    "[integration][daemon][host]") {
    klog_test::temp_dir dir;
    const auto out = dir.file("kern.log");
    const auto err = dir.file("err.log");
    const auto pid = dir.file("klogd.pid");
    // Only reads: /dev/kmsg readers never take records from anybody.
    background_klogd klogd({"-n", "-d", "-x", "--format=raw", "-f", out, "--pidfile=" + pid,
                            "--state-file=" + dir.file("state")},
                           err);
    REQUIRE(eventually([&] { return read_if_any(pid) == std::to_string(klogd.pid()) + "\n"; }));
    CHECK(klog_test::read_file(err).find("reading /dev/kmsg") != std::string::npos);
    // The whole ring arrives (compare with dmesg -r, read just before). klogd reads the ring in
    // batches and saves its cursor after each: wait for the newest record's, not the first one.
    const auto dmesg = klog_test::run_process({"/usr/bin/dmesg", "-r"});
    const auto state = dir.file("state");
    const auto newest = newest_kmsg_seq();
    REQUIRE(newest >= 0);
    REQUIRE(eventually([&] { return saved_seq(state) >= newest; }));
    const auto first = file_lines(out);
    CHECK(first.size() + 5 >= file_lines_of(dmesg.out));

    klogd.signal(SIGTSTP);
    REQUIRE(eventually([&] {
        return klog_test::read_file(err).find("SIGTSTP: closing /dev/kmsg") != std::string::npos;
    }));
    // While suspended, /dev/kmsg is closed.
    const auto fds = klog_test::run_process(
        {"/usr/bin/ls", "-l", "/proc/" + std::to_string(klogd.pid()) + "/fd"});
    CHECK(fds.out.find("/dev/kmsg") == std::string::npos);
    CHECK(klogd.running());
    klogd.signal(SIGCONT);
    REQUIRE(eventually([&] {
        return klog_test::read_file(err).find("SIGCONT: reading /dev/kmsg again") !=
               std::string::npos;
    }));
    const auto fds_after = klog_test::run_process(
        {"/usr/bin/ls", "-l", "/proc/" + std::to_string(klogd.pid()) + "/fd"});
    CHECK(fds_after.out.find("/dev/kmsg") != std::string::npos);
    // Reopening read the ring again from the start: nothing delivered twice. Wait until klogd has
    // gone through the ring to its newest record, so that a repeat would be in the file by now.
    const auto newest_after = newest_kmsg_seq();
    REQUIRE(eventually([&] { return saved_seq(state) >= newest_after; }));
    // A repeat of the ring would not move the cursor: give it a second to show.
    CHECK_FALSE(eventually([&] { return file_lines(out).size() >= first.size() + 10; }, 1s));
    const auto again = file_lines(out);
    REQUIRE(again.size() >= first.size());
    CHECK(std::equal(first.begin(), first.end(), again.begin()));
    CHECK(again.size() < first.size() + 10);  // only what the kernel printed meanwhile
    CHECK(klog_test::read_file(err).find("missed") == std::string::npos);

    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(5s) == 0);
    CHECK(::access(pid.c_str(), F_OK) != 0);
}

// Found by the review of the OS seam: an open(2) of a FIFO output blocks until a reader comes;
// SIGTERM must end that wait (EINTR back to the event loop), not be retried away. klogd then
// stayed until SIGKILL: no cursor saved, the pid file left behind.
TEST_CASE(
    "SIGTERM while a HUP's reopen of a FIFO output waits for a reader stops klogd "
    "cleanly",
    "[integration][daemon]") {
    daemon_fixture f;
    f.out = f.dir.file("out.fifo");
    REQUIRE(::mkfifo(f.out.c_str(), 0600) == 0);
    const auto state = f.dir.file("state");
    // The reader: there while klogd opens the FIFO at start, gone before the HUP.
    int reader = -1;
    std::thread opener([&] { reader = ::open(f.out.c_str(), O_RDONLY | O_CLOEXEC); });
    background_klogd klogd(f.args({"--state-file=" + state}), f.err);
    REQUIRE(f.ready(klogd));
    opener.join();
    REQUIRE(reader >= 0);
    f.kmsg.send(kmsg_record(6, 1, 1000000, "through the fifo"));
    char buf[256];
    REQUIRE(eventually([&] { return ::read(reader, buf, sizeof buf) > 0; }));
    ::close(reader);
    klogd.signal(SIGHUP);  // reopen: open(O_WRONLY) of a FIFO without a reader blocks
    REQUIRE(eventually(
        [&] {
            std::ifstream wchan("/proc/" + std::to_string(klogd.pid()) + "/wchan");
            std::string w;
            std::getline(wchan, w);
            return w.find("fifo") != std::string::npos ||
                   w.find("wait_for_partner") != std::string::npos;
        },
        5s));
    klogd.signal(SIGTERM);
    INFO(f.diagnostics());
    CHECK(klogd.wait_exit(5s) == 0);
    CHECK(::access(f.pid.c_str(), F_OK) != 0);
    CHECK(read_if_any(state).find("seq=1\n") != std::string::npos);
}

// Found by a hostile review of the replay's read-ahead thread: a daemon replaying a saved log
// closed it at SIGTSTP and opened it again at SIGCONT — a file was read from its start again
// (a dmesg log has no sequence numbers to skip what was delivered: every line twice), and
// standard input lost what was read of it but not delivered (thousands of lines with the
// read-ahead thread, the record read in part without it).
TEST_CASE("a daemon replaying a saved log pauses at SIGTSTP and goes on at SIGCONT: each line once",
          "[integration][daemon][replay]") {
    klog_test::temp_dir dir;
    const auto saved = dir.file("saved.dmesg");
    constexpr int total = 2'000'000;
    write_numbered_dmesg(saved, total);
    for (const bool from_stdin : {false, true}) {
        INFO((from_stdin ? "--source=- < file" : "--source=FILE"));
        const auto out = dir.file(from_stdin ? "stdin.log" : "file.log");
        const auto err = dir.file(from_stdin ? "stdin.err" : "file.err");
        const auto pid = dir.file(from_stdin ? "stdin.pid" : "file.pid");
        background_klogd klogd({"-n", "-d", from_stdin ? "--source=-" : "--source=" + saved, "-f",
                                out, "--format=raw", "--pidfile=" + pid, "--state-file=none",
                                "--pstore=none"},
                               err, {}, from_stdin ? saved : "/dev/null");
        REQUIRE(eventually([&] { return read_if_any(pid) == std::to_string(klogd.pid()) + "\n"; }));
        REQUIRE(eventually([&] { return file_lines(out).size() >= 1000; }, 10s));
        klogd.signal(SIGTSTP);
        REQUIRE(eventually([&] { return read_if_any(err).find("SIGTSTP") != std::string::npos; }));
        std::this_thread::sleep_for(300ms);  // what was read before it is written
        const auto paused_at = file_lines(out).size();
        std::this_thread::sleep_for(300ms);
        CHECK(file_lines(out).size() == paused_at);  // paused: nothing more read
        // Otherwise the replay ended before the pause and tells nothing.
        REQUIRE(paused_at < static_cast<std::size_t>(total));
        klogd.signal(SIGCONT);
        REQUIRE(klogd.wait_exit(60s) == 0);  // the end of the input ends it
        const auto lines = file_lines(out);
        REQUIRE(lines.size() == static_cast<std::size_t>(total));
        for (int i = 0; i < total; ++i) {
            char want[96];
            std::snprintf(want, sizeof want, "<6>[%5d.000000] record number %d", i + 1, i + 1);
            if (lines[static_cast<std::size_t>(i)] != want) {
                FAIL("line " << i << ": " << lines[static_cast<std::size_t>(i)]);
            }
        }
        CHECK(read_if_any(err).find("pausing the replay") != std::string::npos);
    }
}

// Found by the same review: a replay's read-ahead thread that read nothing to deliver (a file
// of NUL bytes, the dropped rest of a cut record) kept the daemon's thread waiting, signals
// unanswered, until the end of the file (50 s for 200 GB of NUL bytes).
TEST_CASE("a daemon replaying a file of NUL bytes stops at SIGTERM at once",
          "[integration][daemon][replay]") {
    klog_test::temp_dir dir;
    const auto sparse = dir.file("sparse");
    {
        const int fd = ::open(sparse.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        REQUIRE(fd >= 0);
        REQUIRE(::ftruncate(fd, off_t{200} << 30) == 0);  // 200 GiB of holes: no disk used
        ::close(fd);
    }
    const auto out = dir.file("out.log");
    const auto err = dir.file("stderr.log");
    const auto pid = dir.file("klogd.pid");
    background_klogd klogd({"-n", "-d", "--source=" + sparse, "-f", out, "--format=raw",
                            "--pidfile=" + pid, "--state-file=none", "--pstore=none"},
                           err);
    REQUIRE(eventually([&] { return read_if_any(pid) == std::to_string(klogd.pid()) + "\n"; }));
    std::this_thread::sleep_for(500ms);
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);  // -1: still reading holes
    CHECK(read_if_any(err).find("SIGTERM") != std::string::npos);
}

// Found by a second hostile review: an output full when reading paused, drained while the
// daemon was suspended (TSTP), never started reading again after CONT: the progress that would
// have found reading suspended; a replay then stalled for ever (and /dev/kmsg stayed unread).
TEST_CASE("an output that drained while klogd was suspended is read for again after SIGCONT",
          "[integration][daemon][replay]") {
    klog_test::temp_dir dir;
    const auto saved = dir.file("saved.dmesg");
    constexpr int total = 200'000;
    write_numbered_dmesg(saved, total);
    const auto mnt = dir.file("mnt");
    klog_test::tmpfs_mount fs(mnt, "16m");  // the output is about 8 MB
    const auto filler = mnt + "/filler";
    klog_test::write_file(filler, std::string(15 << 20, 'f'));  // 1 MiB left of the 16
    const auto out = mnt + "/out.log";
    const auto err = dir.file("stderr.log");
    const auto pid = dir.file("klogd.pid");
    background_klogd klogd({"-n", "-d", "--source=" + saved, "-f", out, "--format=raw",
                            "--pidfile=" + pid, "--state-file=none", "--pstore=none"},
                           err);
    REQUIRE(eventually([&] { return read_if_any(err).find("reading paused") != std::string::npos; },
                       20s));
    klogd.signal(SIGTSTP);
    REQUIRE(eventually([&] { return read_if_any(err).find("SIGTSTP") != std::string::npos; }));
    REQUIRE(::unlink(filler.c_str()) == 0);
    std::this_thread::sleep_for(2500ms);  // the retry timer writes what was held meanwhile
    klogd.signal(SIGCONT);
    REQUIRE(klogd.wait_exit(30s) == 0);  // the end of the input ends it
    CHECK(file_lines(out).size() == static_cast<std::size_t>(total));
}

// Found by the second hostile review: Asio hands out the signals that wait together in the
// order of their numbers, CONT (18) before TSTP (20). HUP, TSTP and CONT sent while klogd is busy
// (here: replaying a long log) come out as HUP, CONT, TSTP: klogd stayed suspended for good.
TEST_CASE("SIGTSTP then SIGCONT while klogd is busy leaves it reading",
          "[integration][daemon][replay]") {
    klog_test::temp_dir dir;
    const auto saved = dir.file("saved.dmesg");
    constexpr int total = 2'000'000;  // a few seconds of work
    write_numbered_dmesg(saved, total);
    const auto out = dir.file("out.log");
    const auto err = dir.file("stderr.log");
    const auto pid = dir.file("klogd.pid");
    background_klogd klogd({"-n", "-d", "--source=" + saved, "-f", out, "--format=raw",
                            "--pidfile=" + pid, "--state-file=none", "--pstore=none"},
                           err);
    REQUIRE(eventually([&] { return read_if_any(pid) == std::to_string(klogd.pid()) + "\n"; }));
    REQUIRE(eventually([&] {
        std::error_code ec;
        const auto size = std::filesystem::file_size(out, ec);
        return !ec && size > 0;
    }, 10s));
    // Each taken by klogd's handler before the next is sent (a CONT sent while a TSTP is still
    // pending would take it away), all while the loop is busy with a batch.
    for (const int signo : {SIGHUP, SIGTSTP, SIGCONT}) {
        klogd.signal(signo);
        std::this_thread::sleep_for(200us);
    }
    CHECK(klogd.wait_exit(60s) == 0);  // -1: left suspended
    CHECK(file_lines(out).size() == static_cast<std::size_t>(total));
    CHECK(read_if_any(err).find("SIGHUP: reopening outputs") != std::string::npos);
}

// A daemon replaying a pipe waited for its next bytes in read(2), outside the event loop: TERM,
// TSTP, CONT and HUP did nothing until more came (an init script's stop hung while the writer
// stayed quiet). It now waits for input in the loop, as it waits for the kernel.
TEST_CASE("a daemon replaying an idle pipe acts on its signals at once",
          "[integration][daemon][replay]") {
    klog_test::temp_dir dir;
    const auto fifo = dir.file("stdin.fifo");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const auto out = dir.file("out.log");
    const auto err = dir.file("stderr.log");
    const auto pid = dir.file("klogd.pid");
    const auto send = [](int fd, int from, int to) {
        std::string lines;
        for (int i = from; i <= to; ++i) {
            lines.append("<6>[    1.000000] line ").append(std::to_string(i)) += '\n';
        }
        REQUIRE(::write(fd, lines.data(), lines.size()) == static_cast<ssize_t>(lines.size()));
    };
    for (const bool from_stdin : {true, false}) {
        INFO((from_stdin ? "--source=- < FIFO" : "--source=FIFO"));
        ::unlink(out.c_str());
        ::unlink(err.c_str());
        // Opened for reading and writing first: klogd's open of the FIFO then finds a writer
        // and does not wait (posix_spawn waits for the child's opens); closing it ends klogd's
        // input.
        const int writer = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
        REQUIRE(writer >= 0);
        background_klogd klogd({"-n", "-d", from_stdin ? "--source=-" : "--source=" + fifo, "-f",
                                out, "--format=raw", "--pidfile=" + pid, "--state-file=none",
                                "--pstore=none"},
                               err, {}, from_stdin ? fifo : "/dev/null");
        REQUIRE(eventually([&] { return read_if_any(pid) == std::to_string(klogd.pid()) + "\n"; }));
        send(writer, 1, 10);
        REQUIRE(eventually([&] { return file_lines(out).size() == 10; }));

        // Suspended while the pipe is quiet: what comes meanwhile waits in the pipe.
        klogd.signal(SIGTSTP);
        REQUIRE(eventually([&] { return read_if_any(err).find("SIGTSTP") != std::string::npos; }));
        send(writer, 11, 15);
        std::this_thread::sleep_for(300ms);
        CHECK(file_lines(out).size() == 10);
        klogd.signal(SIGCONT);
        REQUIRE(eventually([&] { return file_lines(out).size() == 15; }));

        klogd.signal(SIGHUP);
        REQUIRE(eventually([&] { return read_if_any(err).find("SIGHUP") != std::string::npos; }));

        // TERM while nothing comes: klogd stops at once, with what it read delivered.
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(5s) == 0);  // -1: still waiting in read(2)
        CHECK(file_lines(out).size() == 15);
        ::close(writer);
    }
}

// Detaching pointed standard input at /dev/null: a daemon told to replay it (`producer |
// klogd --source=-` from an init script) read nothing and ended quietly.
TEST_CASE("a detaching daemon replays standard input", "[integration][daemon][replay]") {
    klog_test::temp_dir dir;
    const auto fifo = dir.file("stdin.fifo");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const auto out = dir.file("out.log");
    const auto pid = dir.file("klogd.pid");
    const int writer = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);  // see the test above
    REQUIRE(writer >= 0);
    background_klogd parent({"--source=-", "-f", out, "--format=raw", "--pidfile=" + pid,
                             "--state-file=none", "--pstore=none"},
                            dir.file("stderr.log"), {}, fifo);
    REQUIRE(parent.wait_exit(10s) == 0);  // the parent returns once the daemon is reading
    REQUIRE(eventually([&] { return read_if_any(pid).size() > 1; }));
    const pid_t child = std::stoi(read_if_any(pid));
    CHECK(child != parent.pid());
    std::string lines;
    for (int i = 1; i <= 20; ++i) {
        lines.append("<6>[    1.000000] line ").append(std::to_string(i)) += '\n';
    }
    REQUIRE(::write(writer, lines.data(), lines.size()) == static_cast<ssize_t>(lines.size()));
    CHECK(eventually([&] { return file_lines(out).size() == 20; }));
    CHECK(::kill(child, 0) == 0);  // still waiting for more
    REQUIRE(::kill(child, SIGTERM) == 0);
    CHECK(eventually([&] { return ::access(pid.c_str(), F_OK) != 0; }, 5s));
    const auto got = file_lines(out);
    REQUIRE(got.size() == 20);
    CHECK(got.back().find("line 20") != std::string::npos);
    ::close(writer);
}

// A detached daemon's standard output is /dev/null: `-f -` without -n delivered every record
// there and said "written"; standard input a terminal would be read away from the shell.
TEST_CASE("a detaching daemon refuses standard output as its output and a terminal as its input",
          "[integration][daemon][options]") {
    klog_test::temp_dir dir;
    const auto log = dir.file("saved.log");
    klog_test::write_file(log, "<6>[    1.000000] one\n");
    for (const std::string out : {"-f", "--output=file:-"}) {
        INFO(out);
        std::vector<std::string> args{"--source=" + log, "--pidfile=" + dir.file("p.pid"),
                                      "--state-file=none", "--pstore=none"};
        if (out == "-f") {
            args.insert(args.end(), {"-f", "-"});
        } else {
            args.push_back(out);
        }
        const auto r = klog_test::run_klogd(args, "", 10000);
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("standard output is /dev/null once klogd detaches: add -n") !=
              std::string::npos);
        CHECK(r.out.empty());
        args.push_back("-n");  // in the foreground it is what -f - is for
        CHECK(klog_test::run_klogd(args, "", 10000).exit_code == 0);
    }

    const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    REQUIRE(master >= 0);
    REQUIRE(::grantpt(master) == 0);
    REQUIRE(::unlockpt(master) == 0);
    const std::string terminal = ::ptsname(master);
    background_klogd klogd({"--source=-", "-f", dir.file("out.log"),
                            "--pidfile=" + dir.file("p.pid"), "--state-file=none",
                            "--pstore=none"},
                           dir.file("err.log"), {}, terminal);
    CHECK(klogd.wait_exit(10s) == 2);
    CHECK(read_if_any(dir.file("err.log")).find("--source -: a terminal: a detached daemon") !=
          std::string::npos);
    // Named otherwise: the same.
    const auto named = klog_test::run_klogd({"--source=" + terminal, "-f", dir.file("out.log"),
                                             "--pidfile=" + dir.file("p.pid"),
                                             "--state-file=none", "--pstore=none"},
                                            "", 10000);
    CHECK(named.exit_code == 2);
    CHECK(named.err.find("a terminal: a detached daemon") != std::string::npos);
    ::close(master);
}

// detach() changes to /: an output named by a relative path was reopened at SIGHUP as /NAME
// (the rest of the records went there), and the pid file was removed from / at the end.
TEST_CASE("a detached daemon started in a directory keeps its relative paths there",
          "[integration][daemon]") {
    klog_test::temp_dir dir;
    const auto fifo = dir.file("in.fifo");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const int writer = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
    REQUIRE(writer >= 0);
    // Names nothing else in / uses.
    const std::string name = "klogd-relative-test-" + std::to_string(::getpid());
    const auto stray = [&](const std::string& suffix) { return "/" + name + suffix; };
    const auto r = klog_test::run_process(
        {"/bin/sh", "-c",
         "cd \"$1\" && exec \"$2\" --source=- -f \"$3.log\" --pidfile=\"$3.pid\" "
         "--state-file=none --pstore=none < in.fifo",
         "sh", dir.path(), klog_test::klogd_binary(), name},
        "", 10000);
    REQUIRE(r.exit_code == 0);  // the parent, once the daemon reads
    const auto pid_path = dir.file(name + ".pid");
    REQUIRE(eventually([&] { return read_if_any(pid_path).size() > 1; }));
    const pid_t child = std::stoi(read_if_any(pid_path));
    const auto send = [&](int from, int to) {
        std::string lines;
        for (int i = from; i <= to; ++i) {
            lines.append("<6>[    1.000000] line ").append(std::to_string(i)) += '\n';
        }
        REQUIRE(::write(writer, lines.data(), lines.size()) ==
                static_cast<ssize_t>(lines.size()));
    };
    const auto out = dir.file(name + ".log");
    send(1, 10);
    REQUIRE(eventually([&] { return file_lines(out).size() == 10; }));
    REQUIRE(::kill(child, SIGHUP) == 0);  // reopens its output
    std::this_thread::sleep_for(200ms);
    send(11, 20);
    CHECK(eventually([&] { return file_lines(out).size() == 20; }));
    REQUIRE(::kill(child, SIGTERM) == 0);
    CHECK(eventually([&] { return ::access(pid_path.c_str(), F_OK) != 0; }, 5s));
    CHECK(::access(stray(".log").c_str(), F_OK) != 0);
    CHECK(::access(stray(".pid").c_str(), F_OK) != 0);
    ::unlink(stray(".log").c_str());
    ::unlink(stray(".pid").c_str());
    ::close(writer);
}

// Standard error went to /dev/null at the fork: what failed after it (a metrics port in use)
// ended the daemon with exit 1 and not a word on the terminal.
TEST_CASE("without -n an error after detaching still reaches the terminal",
          "[integration][daemon]") {
    klog_test::temp_dir dir;
    std::uint16_t taken_port = 0;
    const int taken = klog_test::bound_loopback_socket(SOCK_STREAM, taken_port);
    REQUIRE(taken >= 0);
    REQUIRE(::listen(taken, 1) == 0);
    const auto port = std::to_string(taken_port);
    kmsg_standin kmsg(dir.file("kmsg.sock"));
    const auto r = klog_test::run_klogd(
        {"--source=kmsg:" + dir.file("kmsg.sock"), "-f", dir.file("out.log"),
         "--pidfile=" + dir.file("p.pid"), "--state-file=none", "--pstore=none",
         "--metrics=127.0.0.1:" + port},
        "", 10000);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find(port) != std::string::npos);
    CHECK(::access(dir.file("p.pid").c_str(), F_OK) != 0);
    ::close(taken);
}

// HUP, USR1, USR2 and TSTP kill (or stop) a process by default: sent while klogd was starting,
// before its handlers were in place (a logrotate's HUP or a module loader's USR1 at boot), they
// ended the daemon. They now wait, blocked, until klogd acts on them.
TEST_CASE("signals sent while the daemon starts wait for it instead of ending it",
          "[integration][daemon]") {
    daemon_fixture f;
    // A long symbol table keeps klogd starting for a while (about 0.1 s) after its first
    // words: the signals land in that time, not before main() (which no program can help).
    const auto kallsyms = f.dir.file("kallsyms");
    {
        std::string table;
        for (int i = 0; i < 1'000'000; ++i) {
            char line[64];
            std::snprintf(line, sizeof line, "ffffffff%08x T function_%d\n", 0x81000000U + 16U * i,
                          i);
            table += line;
        }
        klog_test::write_file(kallsyms, table);
    }
    const auto modules = f.dir.file("modules");
    klog_test::write_file(modules, "");
    auto args = f.args({"--kallsyms=" + kallsyms, "--modules=" + modules});
    args.erase(std::find(args.begin(), args.end(), "-x"));
    background_klogd klogd(args, f.err);
    REQUIRE(eventually([&] { return !f.diagnostics().empty(); }));
    const int sent[] = {SIGUSR1, SIGHUP, SIGUSR2};
    // Bounded in time, not only in count: under ASan on a loaded machine the start takes
    // seconds (2,000 rounds were once not enough).
    bool started = false;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    for (int i = 0; i < 200'000 && !started && std::chrono::steady_clock::now() < deadline; ++i) {
        klogd.signal(sent[i % 3]);
        std::this_thread::sleep_for(500us);
        started = read_if_any(f.pid) == std::to_string(klogd.pid()) + "\n";
    }
    REQUIRE(started);
    REQUIRE(f.ready(klogd));
    CHECK(klogd.running());
    f.kmsg.send(kmsg_record(6, 1, 1000000U, "after the start"));
    CHECK(f.has_lines(1));
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
}

namespace {

/// A directory about 150 characters deep in `dir`: a relative path there is over 107 bytes
/// once made absolute.
std::string deep_directory(klog_test::temp_dir& dir) {
    const std::string deep = dir.file(std::string(60, 'd') + "/" + std::string(60, 'e'));
    std::filesystem::create_directories(deep);
    return deep;
}

/// klogd started in `deep` with `args`, as --check-config and as -o: both exit 2 and say
/// `reason`.
void check_refused_in_both_modes(const std::string& deep, const std::string& args,
                                 const std::string& reason) {
    for (const std::string mode : {"--check-config", "-o"}) {
        const auto r =
            klog_test::run_process({"/bin/sh", "-c", "cd \"$1\" && exec \"$2\" \"$3\" " + args,
                                    "sh", deep, klog_test::klogd_binary(), mode},
                                   "", 10000);
        INFO(mode << ": " << r.err);
        CHECK(r.exit_code == 2);
        CHECK(r.err.find(reason) != std::string::npos);
    }
}

}  // namespace

// A socket path is checked for length when parsed, but a relative one is made absolute only
// later: from a deep directory --check-config said "configuration ok" and the start failed with
// exit 1 ("File name too long").
TEST_CASE("a relative socket path too long once made absolute is refused by --check-config and "
          "at start with exit 2",
          "[integration][config]") {
    klog_test::temp_dir dir;
    check_refused_in_both_modes(deep_directory(dir), "--source=/dev/null --output=syslog:sock",
                                "--output syslog:sock: socket path too long once made absolute");
}

// The same for a kmsg: stand-in that is a socket (connected to by its path): from a deep
// directory --check-config said "configuration ok" and the start failed with exit 1 ("File
// name too long"). The socket is made by mknod: no process can bind that path either.
TEST_CASE(
    "a relative kmsg stand-in socket path too long once made absolute is refused by "
    "--check-config and at start with exit 2",
    "[integration][config]") {
    klog_test::temp_dir dir;
    const std::string deep = deep_directory(dir);
    REQUIRE(::mknod((deep + "/sock").c_str(), S_IFSOCK | 0600, 0) == 0);
    check_refused_in_both_modes(deep, "-n --source=kmsg:sock -f -",
                                "--source kmsg:sock: socket path too long once made absolute (");
    // A device or file stand-in is opened, not connected to: a long path is no reason to refuse.
    const auto file = klog_test::run_process(
        {"/bin/sh", "-c",
         "cd \"$1\" && : > records && exec \"$2\" --check-config -n --source=kmsg:records -f -",
         "sh", deep, klog_test::klogd_binary()},
        "", 10000);
    INFO(file.err);
    CHECK(file.exit_code == 0);
}
