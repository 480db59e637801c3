// The file output on a filesystem that fills up: klogd keeps running, says so, keeps the
// records, and writes them all (once, in order, no NUL bytes) when space returns.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <string>

#include "daemon_harness.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using klog_test::eventually;
using klog_test::kmsg_record;
using klog_test::read_if_any;

TEST_CASE("a full filesystem is survived and every record written once space returns",
          "[integration][file]") {
    klog_test::temp_dir dir;
    const auto mnt = dir.file("mnt");
    REQUIRE(::mkdir(mnt.c_str(), 0755) == 0);
    klog_test::tmpfs_mount fs(mnt, "64k");
    REQUIRE(fs.mounted());  // the tests run as root (see README)
    // Fill the filesystem to the last block.
    const auto filler = mnt + "/filler";
    {
        const std::string block(4096, 'x');
        FILE* f = std::fopen(filler.c_str(), "w");
        REQUIRE(f != nullptr);
        while (std::fwrite(block.data(), 1, block.size(), f) == block.size() &&
               std::fflush(f) == 0) {
        }
        std::fclose(f);
    }
    klog_test::kmsg_standin kmsg(dir.file("kmsg.sock"));
    const auto out = mnt + "/kern.log";
    const auto err = dir.file("err.log");
    klog_test::background_klogd klogd(
        {"-n", "-x", "--format=raw", "-f", out, "--source=kmsg:" + kmsg.path(),
         "--pidfile=" + dir.file("pid"), "--state-file=" + dir.file("state")},
        err);
    REQUIRE(kmsg.accept(10s));
    for (int i = 0; i < 200; ++i) kmsg.send(kmsg_record(6, i, i, "line " + std::to_string(i)));
    REQUIRE(eventually([&] {
        return klog_test::read_file(err).find(
                   "No space left on device (kept in memory, retrying)") != std::string::npos;
    }));
    CHECK(klogd.running());
    // The cursor does not pass records that are not on disk.
    CHECK(read_if_any(dir.file("state")).find("seq=199") == std::string::npos);

    REQUIRE(::unlink(filler.c_str()) == 0);  // space returns; no new kernel message needed
    REQUIRE(eventually([&] { return klog_test::file_lines(out).size() >= 200; }));
    const auto text = klog_test::read_file(out);
    CHECK(text.find('\0') == std::string::npos);
    const auto lines = klog_test::file_lines(out);
    REQUIRE(lines.size() == 200);
    for (int i = 0; i < 200; ++i) CHECK(lines[i].ends_with("] line " + std::to_string(i)));
    REQUIRE(eventually(
        [&] { return klog_test::read_file(err).find("writing again") != std::string::npos; }));
    REQUIRE(eventually(
        [&] { return read_if_any(dir.file("state")).find("seq=199") != std::string::npos; }));
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(5s) == 0);
}

TEST_CASE("one-shot (-o) to a full filesystem: every record written once and in order when "
          "space returns",
          "[integration][file]") {
    // -o writes its file in blocks from a second thread: a block the full disk takes in part
    // comes back whole, and klogd writes it (and what it formatted meanwhile) once room returns.
    klog_test::temp_dir dir;
    const auto mnt = dir.file("mnt");
    REQUIRE(::mkdir(mnt.c_str(), 0755) == 0);
    klog_test::tmpfs_mount fs(mnt, "8m");
    REQUIRE(fs.mounted());
    constexpr int records = 40000;  // about 2.6 MB of output: ten blocks and more
    std::string saved;
    for (int i = 0; i < records; ++i) {
        auto r = kmsg_record(6, static_cast<std::uint64_t>(i), 1000000 + static_cast<std::uint64_t>(i),
                             "oneshot full " + std::to_string(i) + " " + std::string(i % 40, 'q'));
        r.back() = '\0';
        saved += r;
    }
    const auto log = dir.file("saved.kmsg");
    klog_test::write_file(log, saved);
    // The filesystem full but for about one block and a half.
    const auto filler = mnt + "/filler";
    {
        FILE* f = std::fopen(filler.c_str(), "w");
        REQUIRE(f != nullptr);
        const std::string block(4096, 'x');
        const std::size_t keep = 400 * 1024;
        std::size_t written = 0;
        while (written + keep < 8 * 1024 * 1024 &&
               std::fwrite(block.data(), 1, block.size(), f) == block.size() && std::fflush(f) == 0) {
            written += block.size();
        }
        std::fclose(f);
    }
    const auto out = mnt + "/kern.log";
    const auto err = dir.file("err.log");
    klog_test::background_klogd klogd({"-o", "-x", "--format=raw", "--source=" + log, "-f", out}, err);
    REQUIRE(eventually([&] {
        return klog_test::read_file(err).find("No space left on device") != std::string::npos;
    }));
    CHECK(klogd.running());  // waiting for room, records kept
    REQUIRE(::unlink(filler.c_str()) == 0);
    CHECK(klogd.wait_exit(20s) == 0);
    INFO(klog_test::read_file(err));
    const auto text = klog_test::read_file(out);
    CHECK(text.find('\0') == std::string::npos);
    const auto lines = klog_test::file_lines(out);
    REQUIRE(lines.size() == static_cast<std::size_t>(records));
    for (int i = 0; i < records; ++i) {
        REQUIRE(lines[static_cast<std::size_t>(i)].ends_with(
            "] oneshot full " + std::to_string(i) + " " + std::string(static_cast<std::size_t>(i % 40), 'q')));
    }
}

TEST_CASE("local syslog: records wait while the syslog daemon is away and arrive when it is back",
          "[integration][syslog]") {
    klog_test::temp_dir dir;
    const auto log_sock = dir.file("log.sock");
    klog_test::kmsg_standin kmsg(dir.file("kmsg.sock"));
    const auto err = dir.file("err.log");
    const auto state = dir.file("state");
    klog_test::background_klogd klogd(
        {"-n", "-x", "--output=syslog:" + log_sock, "--source=kmsg:" + kmsg.path(),
         "--pidfile=" + dir.file("pid"), "--state-file=" + state},
        err);
    REQUIRE(kmsg.accept(10s));
    for (int i = 0; i < 5; ++i) kmsg.send(kmsg_record(6, i, i, "queued " + std::to_string(i)));
    REQUIRE(eventually([&] {
        return klog_test::read_file(err).find("(kept in memory, retrying)") != std::string::npos;
    }));
    CHECK(read_if_any(state).find("seq=4") == std::string::npos);  // the cursor stays put

    // The syslog daemon comes (back): no new kernel message is needed for the queue to go.
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, log_sock.c_str(), log_sock.size());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (int i = 0; i < 5; ++i) {
        char buf[512] = {};
        const ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
        REQUIRE(n > 0);
        const std::string datagram(buf, static_cast<std::size_t>(n));
        INFO(datagram);
        CHECK(datagram.rfind("<6>", 0) == 0);  // facility kern, level info
        CHECK(datagram.ends_with(" kernel: [    0.00000" + std::to_string(i) + "] queued " +
                                 std::to_string(i)));
    }
    REQUIRE(eventually([&] { return read_if_any(state).find("\nseq=4\n") != std::string::npos; }));
    CHECK(eventually(
        [&] { return klog_test::read_file(err).find("writing again") != std::string::npos; }));
    ::close(fd);
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(5s) == 0);
}
