// Attacks on the delivery promise ("no kernel message is ever lost, duplicated or garbled
// without klogd saying so"). Every test here states what README/DESIGN/klogd.8 promise and
// failed against the commit it was written for (54fd2ff); see the report in the commit message.
// klogd reads stand-ins for /dev/kmsg (tests/support/daemon_harness.hpp); tmpfs mounts need root.
#include <netinet/in.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
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

namespace {

std::optional<std::uint64_t> number_after(std::string_view text, std::string_view marker) {
    const auto at = text.rfind(marker);
    if (at == std::string_view::npos) return std::nullopt;
    const auto digits = text.substr(at + marker.size());
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) {
        return std::nullopt;
    }
    return std::stoull(std::string(digits));
}

std::string numbered(std::uint64_t seq, std::string_view marker, std::size_t pad = 0) {
    std::string text;
    if (pad != 0) text += std::string(pad, 'p') + " ";
    text += marker;
    return kmsg_record(6, seq, 1000000 + seq, text + std::to_string(seq));
}

std::set<std::uint64_t> distinct(const std::vector<std::string>& items, std::string_view marker) {
    std::set<std::uint64_t> s;
    for (const auto& i : items) {
        if (const auto n = number_after(i, marker)) s.insert(*n);
    }
    return s;
}

/// Fills the filesystem of `path` to the last byte (unbuffered writes, then single bytes).
void fill_up(const std::string& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    const std::string block(4096, 'f');
    while (::write(fd, block.data(), block.size()) > 0) {
    }
    while (::write(fd, "f", 1) > 0) {
    }
    ::close(fd);
}

struct attack_fixture {
    klog_test::temp_dir dir;
    std::string err = dir.file("stderr.log");
    [[nodiscard]] std::vector<std::string> args(const std::string& ring,
                                                const std::vector<std::string>& extra) const {
        std::vector<std::string> a{"-n",
                                   "-d",
                                   "-x",
                                   "--source=kmsg:" + ring,
                                   "--pidfile=" + dir.file("klogd.pid"),
                                   "--state-file=" + dir.file("state")};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
    [[nodiscard]] std::string diagnostics() const { return klog_test::read_if_any(err); }
};

bool wait_read(const klog_test::kmsg_ring& ring, std::uint64_t n) {
    const bool ok = eventually([&] { return ring.sent_to_reader() >= n; }, 30s);
    std::this_thread::sleep_for(500ms);
    return ok;
}

}  // namespace

TEST_CASE("attack: spool segment numbers start again once the spool is empty, what is spooled "
          "after that is taken as acknowledged and deleted at TERM, never sent",
          "[integration][attack][spool]") {
    attack_fixture f;
    klog_test::kmsg_ring ring(f.dir.file("kmsg.sock"), 1000000);
    const auto port = klog_test::free_port();
    const auto capture = f.dir.file("capture");
    std::filesystem::create_directory(capture);
    klog_test::tcp_capture collector(capture, port);
    const auto args = f.args(ring.path(), {"--output=tcp://127.0.0.1:" + std::to_string(port)});
    // Run 1: the collector is away; 2,000 records fill two spool segments.
    for (std::uint64_t s = 1; s <= 2000; ++s) ring.add(numbered(s, "idreuse "));
    {
        background_klogd klogd(args, f.err);
        REQUIRE(wait_read(ring, 2000));
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    // Run 2: the collector is back, the spool drains (and is empty); the collector goes away
    // again and 500 new records come.
    collector.start();
    {
        background_klogd klogd(args, f.err);
        REQUIRE(eventually([&] { return distinct(collector.frames(), "idreuse ").size() >= 2000; },
                           20s));
        std::this_thread::sleep_for(500ms);
        collector.kill();
        for (std::uint64_t s = 2001; s <= 2500; ++s) ring.add(numbered(s, "idreuse "));
        INFO(f.diagnostics());
        REQUIRE(wait_read(ring, 2500));
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    // Run 3: the collector is back: the 500 records should come from the spool.
    collector.start();
    background_klogd klogd(args, f.err);
    std::set<std::uint64_t> got;
    eventually([&] { return (got = distinct(collector.frames(), "idreuse ")).size() >= 2500; },
               10s);
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    const auto d = f.diagnostics();
    INFO(d.substr(d.size() > 4000 ? d.size() - 4000 : 0));
    std::cout << "spool id reuse: collector has " << got.size() << " of 2500 records\n";
    CHECK(got.size() == 2500);  // seen: 2000 (2001..2500 deleted from the spool at TERM)
}

TEST_CASE("attack: the state file cannot be written (full disk): a clean restart cuts records "
          "that were safely in the file, and the ring no longer has them",
          "[integration][attack][file]") {
    attack_fixture f;
    klog_test::kmsg_ring ring(f.dir.file("kmsg.sock"), 100);  // a small kernel ring
    const auto st = f.dir.file("st");
    klog_test::tmpfs_mount fs(st, "64k");
    REQUIRE(fs.mounted());
    const auto file = f.dir.file("kern.log");
    const std::vector<std::string> args{"-n", "-d", "-x", "--format=raw",
                                        "--source=kmsg:" + ring.path(),
                                        "--pidfile=" + f.dir.file("klogd.pid"),
                                        "--state-file=" + st + "/state", "-f", file};
    {
        background_klogd klogd(args, f.err);
        for (std::uint64_t s = 1; s <= 10; ++s) ring.add(numbered(s, "state full "));
        REQUIRE(eventually([&] { return klog_test::file_lines(file).size() >= 10; }));
        std::this_thread::sleep_for(500ms);
        fill_up(st + "/filler");  // the state file's disk is full from now on
        for (std::uint64_t s = 11; s <= 510; ++s) {
            ring.add(numbered(s, "state full "));
            if (s % 20 == 0) std::this_thread::sleep_for(50ms);  // klogd keeps up: no overrun
        }
        REQUIRE(eventually([&] { return klog_test::file_lines(file).size() >= 510; }));
        std::this_thread::sleep_for(300ms);
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    const auto before = distinct(klog_test::file_lines(file), "state full ");
    REQUIRE(before.size() == 510);  // every record safely in the file
    ::unlink((st + "/filler").c_str());
    {
        background_klogd klogd(args, f.err);
        std::this_thread::sleep_for(1500ms);
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    const auto after = distinct(klog_test::file_lines(file), "state full ");
    INFO(f.diagnostics());
    std::cout << "state file unwritable: " << before.size() << " records in the file before the "
              << "restart, " << after.size() << " after\n";
    CHECK(after.size() == 510);  // seen: 110 (400 cut, "missed 400 kernel messages")
}

TEST_CASE("attack: a kernel whose records are not there yet at klogd's first read does not make "
          "a restart cut records the kernel no longer has",
          "[integration][attack][file]") {
    // As the test above, but the restarted klogd's first read finds nothing (a stand-in that
    // has not served yet): that proves nothing about what the kernel holds. Seen in a fresh
    // chroot under load: 400 records cut from the file, then reported as missed.
    attack_fixture f;
    const auto file = f.dir.file("kern.log");
    const auto args = [&](const std::string& sock) {
        return std::vector<std::string>{"-n", "-d", "-x", "--format=raw", "--source=kmsg:" + sock,
                                        "--pidfile=" + f.dir.file("klogd.pid"),
                                        "--state-file=" + f.dir.file("state"), "-f", file};
    };
    {
        klog_test::kmsg_ring ring(f.dir.file("kmsg1.sock"), 1000);
        background_klogd klogd(args(ring.path()), f.err);
        for (std::uint64_t s = 1; s <= 10; ++s) ring.add(numbered(s, "late ring "));
        REQUIRE(eventually([&] { return klog_test::file_lines(file).size() >= 10; }));
        // The cursor after record 10 is saved; then the state file stays as it is while 500
        // more are written (as if its disk were full), and klogd is killed.
        REQUIRE(eventually([&] {
            return klog_test::read_if_any(f.dir.file("state")).find("seq=10\n") !=
                   std::string::npos;
        }));
        const auto keep = klog_test::read_file(f.dir.file("state"));  // put back below
        for (std::uint64_t s = 11; s <= 510; ++s) ring.add(numbered(s, "late ring "));
        REQUIRE(eventually([&] { return klog_test::file_lines(file).size() >= 510; }));
        klogd.signal(SIGKILL);
        klogd.wait_exit(5s);
        klog_test::write_file(f.dir.file("state"), keep);
    }
    const auto before = distinct(klog_test::file_lines(file), "late ring ");
    REQUIRE(before.size() == 510);
    {
        // The "kernel" now holds only 411..510, and serves them a second after klogd started.
        klog_test::kmsg_ring ring(f.dir.file("kmsg2.sock"), 100);
        background_klogd klogd(args(ring.path()), f.err);
        std::this_thread::sleep_for(1s);
        for (std::uint64_t s = 411; s <= 510; ++s) ring.add(numbered(s, "late ring "));
        std::this_thread::sleep_for(1500ms);
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    const auto after = distinct(klog_test::file_lines(file), "late ring ");
    INFO(f.diagnostics());
    CHECK(after.size() == 510);
    CHECK(f.diagnostics().find("kept ") != std::string::npos);  // and it says so
}

namespace {

/// A file holding records 1..510 of `marker` whose saved cursor says only 1..10 are safe (as
/// after a kill -9 with the state file's disk full): the state the restart tests start from.
void file_ahead_of_cursor(attack_fixture& f, const std::vector<std::string>& args_without_source,
                          const std::string& marker) {
    klog_test::kmsg_ring ring(f.dir.file("first.sock"), 1000);
    auto args = args_without_source;
    args.push_back("--source=kmsg:" + ring.path());
    const auto file = f.dir.file("kern.log");
    background_klogd klogd(args, f.err);
    for (std::uint64_t s = 1; s <= 10; ++s) ring.add(numbered(s, marker));
    REQUIRE(eventually([&] { return klog_test::file_lines(file).size() >= 10; }));
    REQUIRE(eventually([&] {
        return klog_test::read_if_any(f.dir.file("state")).find("seq=10\n") != std::string::npos;
    }));
    const auto keep = klog_test::read_file(f.dir.file("state"));  // put back below
    for (std::uint64_t s = 11; s <= 510; ++s) ring.add(numbered(s, marker));
    REQUIRE(eventually([&] { return klog_test::file_lines(file).size() >= 510; }));
    klogd.signal(SIGKILL);
    klogd.wait_exit(5s);
    klog_test::write_file(f.dir.file("state"), keep);
}

}  // namespace

TEST_CASE("attack: a restart stopped before the kernel gave anything leaves the cut to the next "
          "start: no record twice and none lost",
          "[integration][attack][file]") {
    attack_fixture f;
    const auto file = f.dir.file("kern.log");
    // With symbols: klogd's own notice about them comes before any kernel record, and waits
    // with the cut (seen in the guest: the cursor saved without a seq while it waited, and the
    // next start wrote the whole ring again).
    const bool symbols = GENERATE(false, true);
    std::vector<std::string> args{"-n", "-d", "--format=raw",
                                  "--pidfile=" + f.dir.file("klogd.pid"),
                                  "--state-file=" + f.dir.file("state"), "-f", file};
    if (symbols) {
        args.push_back("--kallsyms=" + klog_test::data_path("symbols/kallsyms"));
        args.push_back("--modules=" + klog_test::data_path("symbols/proc-modules"));
    } else {
        args.push_back("-x");
    }
    const std::string marker = "undecided ";
    file_ahead_of_cursor(f, args, marker);
    for (const int signo : {SIGKILL, SIGTERM}) {
        // A start whose kernel serves nothing before the signal: the tail's fate is unknown,
        // and the saved position must stay the old one (seen: the end of the file saved, so
        // that the next start kept the tail and wrote 11..510 again).
        klog_test::kmsg_ring ring(f.dir.file("empty" + std::to_string(signo) + ".sock"), 1000);
        auto a = args;
        a.push_back("--source=kmsg:" + ring.path());
        background_klogd klogd(a, f.err);
        std::this_thread::sleep_for(700ms);
        klogd.signal(signo);
        klogd.wait_exit(10s);
    }
    {
        // The kernel has them all: the tail is cut and written again once.
        klog_test::kmsg_ring ring(f.dir.file("full.sock"), 1000);
        for (std::uint64_t s = 1; s <= 510; ++s) ring.add(numbered(s, marker));
        auto a = args;
        a.push_back("--source=kmsg:" + ring.path());
        background_klogd klogd(a, f.err);
        REQUIRE(eventually([&] { return distinct(klog_test::file_lines(file), marker).size() >= 510; }));
        std::this_thread::sleep_for(500ms);
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    INFO(f.diagnostics());
    std::size_t lines = 0;
    for (const auto& line : klog_test::file_lines(file)) lines += line.find(marker) != std::string::npos;
    CHECK(distinct(klog_test::file_lines(file), marker).size() == 510);
    CHECK(lines == 510);
}

TEST_CASE("attack: a saved cursor past the kernel's newest record does not cut records that were "
          "safely in the file",
          "[integration][attack][file]") {
    attack_fixture f;
    const auto file = f.dir.file("kern.log");
    const std::vector<std::string> args{"-n", "-d", "-x", "--format=raw",
                                        "--pidfile=" + f.dir.file("klogd.pid"),
                                        "--state-file=" + f.dir.file("state"), "-f", file};
    const std::string marker = "ahead ";
    file_ahead_of_cursor(f, args, marker);
    {
        // This "kernel" holds only 1..5: it will never give 11..510 again (seen: 11..510 cut,
        // "written again now", nothing written again).
        klog_test::kmsg_ring ring(f.dir.file("small.sock"), 1000);
        for (std::uint64_t s = 1; s <= 5; ++s) ring.add(numbered(s, marker));
        auto a = args;
        a.push_back("--source=kmsg:" + ring.path());
        background_klogd klogd(a, f.err);
        std::this_thread::sleep_for(2500ms);  // past the 1 s check of a cursor ahead
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    INFO(f.diagnostics());
    CHECK(distinct(klog_test::file_lines(file), marker).size() == 510);
    CHECK(f.diagnostics().find("kept ") != std::string::npos);
}

TEST_CASE("attack: SIGHUP (logrotate) while the file's disk is full tears a record across the "
          "rotated file and the new one",
          "[integration][attack][file]") {
    attack_fixture f;
    klog_test::kmsg_ring ring(f.dir.file("kmsg.sock"), 100000);
    const auto mnt = f.dir.file("mnt");
    klog_test::tmpfs_mount fs(mnt, "1m");
    REQUIRE(fs.mounted());
    const auto file = mnt + "/kern.log";
    background_klogd klogd(f.args(ring.path(), {"--format=raw", "-f", file}), f.err);
    ring.add(numbered(1, "torn ", 1000));
    REQUIRE(eventually([&] { return klog_test::file_lines(file).size() == 1; }));
    fill_up(mnt + "/filler");
    for (std::uint64_t s = 2; s <= 20; ++s) ring.add(numbered(s, "torn ", 1000));
    std::this_thread::sleep_for(1s);
    REQUIRE(::rename(file.c_str(), (file + ".1").c_str()) == 0);  // logrotate
    klogd.signal(SIGHUP);
    std::this_thread::sleep_for(1s);
    ::unlink((mnt + "/filler").c_str());  // space returns
    std::this_thread::sleep_for(2s);
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    std::size_t whole = 0;
    std::size_t bad = 0;
    for (const auto& path : {file + ".1", file}) {
        const auto bytes = klog_test::read_file(path);
        INFO(path);
        CHECK((bytes.empty() || bytes.back() == '\n'));  // seen: kern.log.1 ends inside record 4
        for (const auto& line : klog_test::file_lines(path)) {
            if (line.starts_with("<6>[") && number_after(line, "torn ")) {
                ++whole;
            } else {
                ++bad;
                std::cout << "HUP on a full disk, not a record: '" << line.substr(0, 40) << "'\n";
            }
        }
    }
    CHECK(bad == 0);  // seen: "c 4" at the top of the new file
    CHECK(whole == 20);
}

TEST_CASE("attack: SIGHUP while the file's disk is full, then kill -9: the saved offset "
          "includes half a record, and the restart writes one garbled line",
          "[integration][attack][file]") {
    attack_fixture f;
    klog_test::kmsg_ring ring(f.dir.file("kmsg.sock"), 100000);
    const auto mnt = f.dir.file("mnt");
    klog_test::tmpfs_mount fs(mnt, "1m");
    REQUIRE(fs.mounted());
    const auto file = mnt + "/kern.log";
    const auto args = f.args(ring.path(), {"--format=raw", "-f", file});
    {
        background_klogd klogd(args, f.err);
        ring.add(numbered(1, "halfline ", 1000));
        REQUIRE(eventually([&] { return klog_test::file_lines(file).size() == 1; }));
        fill_up(mnt + "/filler");
        for (std::uint64_t s = 2; s <= 20; ++s) ring.add(numbered(s, "halfline ", 1000));
        std::this_thread::sleep_for(1s);
        klogd.signal(SIGHUP);  // logrotate's postrotate, nothing rotated (or a HUP by hand)
        std::this_thread::sleep_for(1500ms);
        klogd.signal(SIGKILL);
        klogd.wait_exit(5s);
    }
    ::unlink((mnt + "/filler").c_str());
    {
        background_klogd klogd(args, f.err);
        std::this_thread::sleep_for(2s);
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    std::map<std::uint64_t, int> seen;
    std::size_t garbled = 0;
    for (const auto& line : klog_test::file_lines(file)) {
        // One record per line: exactly one "<6>[" prefix.
        if (line.find("<6>[", 1) != std::string::npos || !line.starts_with("<6>[")) ++garbled;
        if (const auto n = number_after(line, "halfline ")) ++seen[*n];
    }
    INFO(f.diagnostics());
    CHECK(garbled == 0);  // seen: 1 line of 2045 bytes, half of record 4 then all of it
    CHECK(seen.size() == 20);
}

TEST_CASE("attack: one-shot (-o) to a healthy udp receiver or tcp?full=drop collector drops "
          "everything past 10,000 records and still exits 0",
          "[integration][attack][one-shot]") {
    klog_test::temp_dir dir;
    constexpr std::uint64_t n = 30000;
    std::string bytes;
    for (std::uint64_t s = 1; s <= n; ++s) {
        auto r = numbered(s, "oneshot drop ");
        r.back() = '\0';
        bytes += r;
    }
    const auto log = dir.file("saved.kmsg");
    klog_test::write_file(log, bytes);
    SECTION("udp") {
        std::uint16_t port = 0;
        const int fd = klog_test::bound_loopback_socket(SOCK_DGRAM, port);
        const int big = 64 << 20;
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
        const auto r = klog_test::run_klogd(
            {"-o", "-x", "--source=" + log,
             "--output=udp://127.0.0.1:" + std::to_string(port)});
        std::set<std::uint64_t> got;
        timeval tv{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char buf[4096];
        for (;;) {
            const ssize_t k = ::recv(fd, buf, sizeof buf, 0);
            if (k <= 0) break;
            if (const auto s = number_after(std::string_view(buf, static_cast<std::size_t>(k)),
                                            "oneshot drop ")) {
                got.insert(*s);
            }
        }
        ::close(fd);
        INFO(r.err);
        std::cout << "-o udp: exit " << r.exit_code << ", " << got.size() << " of " << n
                  << " records received\n";
        CHECK((r.exit_code != 0 || got.size() == n));  // seen: exit 0 with 10,000
        CHECK(got.size() == n);                         // a receiver that takes everything
    }
    SECTION("tcp?full=drop") {
        const auto port = klog_test::free_port();
        const auto capture = dir.file("capture");
        std::filesystem::create_directory(capture);
        klog_test::tcp_capture collector(capture, port);
        collector.start();
        const auto r = klog_test::run_klogd(
            {"-o", "-x", "--source=" + log,
             "--output=tcp://127.0.0.1:" + std::to_string(port) + "?full=drop"});
        std::set<std::uint64_t> got;
        eventually([&] { return (got = distinct(collector.frames(), "oneshot drop ")).size() >= n; },
                   5s);
        INFO(r.err);
        std::cout << "-o tcp?full=drop: exit " << r.exit_code << ", " << got.size() << " of " << n
                  << " records received\n";
        CHECK((r.exit_code != 0 || got.size() == n));  // seen: exit 0 with 10,000
        CHECK(got.size() == n);
    }
}

TEST_CASE("attack: the daemon drops most of a startup backlog to a healthy udp receiver",
          "[integration][attack][udp]") {
    attack_fixture f;
    constexpr std::uint64_t n = 50000;
    klog_test::kmsg_ring ring(f.dir.file("kmsg.sock"), 1000000);
    for (std::uint64_t s = 1; s <= n; ++s) ring.add(numbered(s, "backlog udp "));
    std::uint16_t port = 0;
    const int fd = klog_test::bound_loopback_socket(SOCK_DGRAM, port);
    const int big = 64 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    std::set<std::uint64_t> got;
    std::atomic<bool> stop{false};
    std::thread reader([&] {
        timeval tv{0, 200000};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char buf[4096];
        while (!stop) {
            const ssize_t k = ::recv(fd, buf, sizeof buf, 0);
            if (k <= 0) continue;
            if (const auto s = number_after(std::string_view(buf, static_cast<std::size_t>(k)),
                                            "backlog udp ")) {
                got.insert(*s);
            }
        }
    });
    background_klogd klogd(
        f.args(ring.path(), {"--output=udp://127.0.0.1:" + std::to_string(port)}),
        f.err);
    REQUIRE(wait_read(ring, n));
    std::this_thread::sleep_for(2s);
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    stop = true;
    reader.join();
    ::close(fd);
    const auto d = f.diagnostics();
    INFO(d.substr(d.size() > 2000 ? d.size() - 2000 : 0));
    std::cout << "udp backlog: " << got.size() << " of " << n << " records received\n";
    CHECK(got.size() == n);  // seen: 45,000-46,000 (klogd's own queue overflowed, not the network)
}

TEST_CASE("attack: a spool on a full disk with a slow but connected collector: memory grows "
          "with every record read",
          "[integration][attack][memory]") {
    attack_fixture f;
    const auto mnt = f.dir.file("mnt");
    klog_test::tmpfs_mount fs(mnt, "256k");
    REQUIRE(fs.mounted());
    fill_up(mnt + "/filler");
    klog_test::kmsg_ring ring(f.dir.file("kmsg.sock"), 10000000);
    const auto port = klog_test::free_port();
    const auto capture = f.dir.file("capture");
    std::filesystem::create_directory(capture);
    klog_test::tcp_capture collector(capture, port);
    collector.start(2ms, 4096);  // about 2 MB/s
    background_klogd klogd(f.args(ring.path(), {"--output=tcp://127.0.0.1:" + std::to_string(port),
                                                "--spool-dir=" + mnt + "/spool"}),
                           f.err);
    constexpr std::uint64_t n = 400000;
    for (std::uint64_t s = 1; s <= n; ++s) ring.add(numbered(s, "memory ", 200));
    eventually([&] { return ring.sent_to_reader() >= n; }, 60s);
    const auto read = ring.sent_to_reader();
    const auto rss = klog_test::peak_rss_kib(klogd.pid());
    klogd.signal(SIGKILL);
    klogd.wait_exit(5s);
    std::cout << "spool disk full, slow collector: klogd read " << read << " records, peak RSS "
              << rss / 1024 << " MiB\n";
#ifndef KLOG_TEST_SANITIZED
    CHECK(rss < 48 * 1024);  // seen: about 100 MiB after 400,000 records, growing with n
#endif
}

TEST_CASE("attack: lines another program appends to the file while klogd is stopped are cut "
          "at the next start (silently without -d)",
          "[integration][attack][file]") {
    attack_fixture f;
    klog_test::kmsg_ring ring(f.dir.file("kmsg.sock"), 100000);
    const auto file = f.dir.file("kern.log");
    const std::vector<std::string> args{"-n", "-x", "--format=raw", "--source=kmsg:" + ring.path(),
                                        "--pidfile=" + f.dir.file("klogd.pid"),
                                        "--state-file=" + f.dir.file("state"), "-f", file};
    for (std::uint64_t s = 1; s <= 10; ++s) ring.add(numbered(s, "foreign "));
    {
        background_klogd klogd(args, f.err);
        REQUIRE(wait_read(ring, 10));
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    {
        std::ofstream out(file, std::ios::app);
        out << "--- an administrator's note, appended while klogd was stopped ---\n";
    }
    REQUIRE(klog_test::file_lines(file).size() == 11);
    {
        background_klogd klogd(args, f.err);
        std::this_thread::sleep_for(1500ms);
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    INFO(f.diagnostics());
    CHECK(klog_test::file_lines(file).size() == 11);  // seen: 10, the note is gone
}

TEST_CASE("attack: a spool segment whose first length field is damaged: the rest of the segment "
          "is dropped as if a kill had cut it, with no notice",
          "[integration][attack][spool]") {
    attack_fixture f;
    klog_test::kmsg_ring ring(f.dir.file("kmsg.sock"), 100000);
    const auto port = klog_test::free_port();
    const auto capture = f.dir.file("capture");
    std::filesystem::create_directory(capture);
    const auto spool = f.dir.file("spool");
    const auto args = f.args(ring.path(), {"--output=tcp://127.0.0.1:" + std::to_string(port),
                                           "--spool-dir=" + spool});
    for (std::uint64_t s = 1; s <= 300; ++s) ring.add(numbered(s, "damaged "));
    {
        background_klogd klogd(args, f.err);
        REQUIRE(wait_read(ring, 300));
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    const auto dir = spool + "/tcp-127.0.0.1-" + std::to_string(port);
    std::string segment;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() == ".spool") segment = e.path().string();
    }
    REQUIRE(!segment.empty());
    auto bytes = klog_test::read_file(segment);
    REQUIRE(bytes.size() > 100);
    bytes[10] = '\x0f';  // the first record's length: 0x000f.... (below the 1 MiB limit)
    klog_test::write_file(segment, bytes);
    klog_test::tcp_capture collector(capture, port);
    collector.start();
    background_klogd klogd(args, f.err);
    std::set<std::uint64_t> got;
    eventually([&] { return (got = distinct(collector.frames(), "damaged ")).size() >= 300; }, 5s);
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    bool said = false;
    for (const auto& fr : collector.frames()) said = said || fr.find("damaged,") != std::string::npos;
    INFO(f.diagnostics());
    std::cout << "damaged spool length: " << got.size() << " of 300 arrived, notice: " << said
              << "\n";
    CHECK((got.size() == 300 || said));  // seen: 0 of 300 and no notice
}

TEST_CASE("attack: a collector killed with more than 256 KiB acknowledged but unread: the "
          "records are lost and klogd says nothing",
          "[integration][attack][tcp]") {
    attack_fixture f;
    klog_test::kmsg_ring ring(f.dir.file("kmsg.sock"), 1000000);
    const auto port = klog_test::free_port();
    const auto capture = f.dir.file("capture");
    std::filesystem::create_directory(capture);
    klog_test::tcp_capture collector(capture, port);
    collector.start(10s, 65536, 4 << 20);  // reads 64 KiB, then stalls (a collector's disk hangs)
    constexpr std::uint64_t n = 5000;
    for (std::uint64_t s = 1; s <= n; ++s) ring.add(numbered(s, "acked unread ", 300));
    background_klogd klogd(f.args(ring.path(), {"--output=tcp://127.0.0.1:" + std::to_string(port),
                                                "--spool-dir=none"}),
                           f.err);
    REQUIRE(wait_read(ring, n));
    std::this_thread::sleep_for(2s);
    collector.kill();  // the collector crashes
    collector.start();
    std::set<std::uint64_t> got;
    eventually([&] { return (got = distinct(collector.frames(), "acked unread ")).size() >= n; },
               10s);
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    const auto d = f.diagnostics();
    INFO(d);
    std::cout << "collector killed with acknowledged data: " << got.size() << " of " << n
              << " records arrived\n";
    // A loss klogd owns up to: a notice to the collector ("klogd: missed ...").
    bool said = false;
    for (const auto& fr : collector.frames()) said = said || fr.find("klogd: missed") != std::string::npos;
    CHECK((got.size() == n || said));  // seen: 711 of 5000, only "N records go again"
}

TEST_CASE("attack: one file named twice (two spellings of its path): a clean restart cuts the "
          "second output's records",
          "[integration][attack][file]") {
    attack_fixture f;
    klog_test::kmsg_ring ring(f.dir.file("kmsg.sock"), 100000);
    const auto args = f.args(ring.path(), {"--format=raw", "--output=file:" + f.dir.file("kern.log"),
                                           "--output=file:" + f.dir.path() + "/./kern.log"});
    for (std::uint64_t s = 1; s <= 100; ++s) ring.add(numbered(s, "twice "));
    // Either the configuration is refused, or both outputs keep their 100 records. (klogd
    // refuses it at start: exit 2, one line, nothing written.)
    background_klogd klogd(args, f.err);
    CHECK(klogd.wait_exit(10s) == 2);
    INFO(f.diagnostics());
    CHECK(f.diagnostics().find("the same file as file:" + f.dir.file("kern.log")) !=
          std::string::npos);
    CHECK(klog_test::file_lines(f.dir.file("kern.log")).empty());
}

TEST_CASE("attack: records a daemon left in its spool are never sent when the next start has "
          "another --spool-dir (or none): the cursor says they were delivered",
          "[integration][attack][spool]") {
    attack_fixture f;
    klog_test::kmsg_ring ring(f.dir.file("kmsg.sock"), 1000000);
    const auto port = klog_test::free_port();
    const auto capture = f.dir.file("capture");
    std::filesystem::create_directory(capture);
    const auto out = "--output=tcp://127.0.0.1:" + std::to_string(port);
    for (std::uint64_t s = 1; s <= 100; ++s) ring.add(numbered(s, "switch "));
    {
        background_klogd klogd(f.args(ring.path(), {out}), f.err);  // collector away: spooled
        REQUIRE(wait_read(ring, 100));
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    klog_test::tcp_capture collector(capture, port);
    collector.start();
    background_klogd klogd(f.args(ring.path(), {out, "--spool-dir=none"}), f.err);
    std::set<std::uint64_t> got;
    eventually([&] { return (got = distinct(collector.frames(), "switch ")).size() >= 100; }, 5s);
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    const auto d = f.diagnostics();
    INFO(d);
    const bool said = d.find("spool") != std::string::npos &&
                      d.find("not sent") != std::string::npos;  // any warning at all would do
    CHECK((got.size() == 100 || said));  // seen: 0 of 100, nothing said by the second run
}
