// Issue 12, odd environments for the real binary: started with standard descriptors closed, and
// a /proc/kmsg stand-in that never sends a newline.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <climits>
#include <string>

#include "daemon_harness.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using klog_test::eventually;
using klog_test::file_lines;
using klog_test::kmsg_record;
using klog_test::read_if_any;

extern char** environ;

namespace {

/// Where descriptor `fd` of process `pid` points.
std::string fd_target(pid_t pid, int fd) {
    const auto link = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
    char buf[PATH_MAX] = {};
    const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    return n < 0 ? std::string("(closed)") : std::string(buf, static_cast<std::size_t>(n));
}

/// klogd with `args`, the descriptors in `closed` closed and the others on /dev/null.
pid_t spawn_with_closed(const std::vector<std::string>& args, std::initializer_list<int> closed) {
    std::vector<std::string> argv_s{KLOGD_BINARY};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    for (int fd = 0; fd <= 2; ++fd) {
        if (std::find(closed.begin(), closed.end(), fd) != closed.end()) {
            posix_spawn_file_actions_addclose(&actions, fd);
        } else {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_RDWR, 0);
        }
    }
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
    return pid;
}

int stop(pid_t pid) {
    ::kill(pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < 250; ++i) {
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        ::usleep(20000);
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return -1;
}

/// Peak resident memory of `pid` in KiB (VmHWM).
long peak_rss_kib(pid_t pid) {
    const auto status = klog_test::read_file("/proc/" + std::to_string(pid) + "/status");
    const auto at = status.find("VmHWM:");
    return at == std::string::npos ? -1 : std::stol(status.substr(at + 6));
}

}  // namespace

TEST_CASE("started with descriptors 0-2 closed, klogd puts /dev/null there before anything else",
          "[integration][hostile]") {
    for (const auto closed : {std::initializer_list<int>{1}, std::initializer_list<int>{0, 1, 2}}) {
        klog_test::temp_dir dir;
        klog_test::kmsg_standin kmsg(dir.file("kmsg.sock"));
        const auto pidfile = dir.file("klogd.pid");
        // -f -: records go to standard output, which must not be some file klogd opened.
        const pid_t pid = spawn_with_closed(
            {"-n", "-x", "--source=kmsg:" + kmsg.path(), "-f", "-", "--pidfile=" + pidfile},
            closed);
        REQUIRE(kmsg.accept(10s));
        REQUIRE(eventually([&] { return read_if_any(pidfile) == std::to_string(pid) + "\n"; }));
        kmsg.send(kmsg_record(6, 1, 1, "to standard output"));
        for (const int fd : closed) {
            INFO("descriptor " << fd << " of " << closed.size() << " closed at start");
            CHECK(fd_target(pid, fd) == "/dev/null");
        }
        CHECK(stop(pid) == 0);
    }
}

TEST_CASE("a /proc/kmsg line without end is cut at 8 KiB: klogd's memory stays small",
          "[integration][hostile]") {
    klog_test::temp_dir dir;
    const auto fifo = dir.file("kmsg.fifo");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const int writer = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
    REQUIRE(writer >= 0);
    const auto out = dir.file("out.log");
    klog_test::background_klogd klogd({"-n", "-x", "--source=proc:" + fifo, "-f", out,
                                       "--format=raw", "--pidfile=" + dir.file("p.pid")},
                                      dir.file("err.log"));
    auto put = [&](const std::string& bytes) {
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::write(writer, bytes.data() + done, bytes.size() - done);
            REQUIRE(n > 0);
            done += static_cast<std::size_t>(n);
        }
    };
    put("<6>[    1.000000] first\n");
    REQUIRE(eventually([&] { return file_lines(out).size() == 1; }));
    const long before = peak_rss_kib(klogd.pid());
    put("<4>[    2.000000] ");
    const std::string chunk(1 << 20, 'A');
    for (int i = 0; i < 256; ++i) put(chunk);  // 256 MiB and no newline
    put("\n<6>[    3.000000] after\n");
    REQUIRE(eventually([&] { return file_lines(out).size() == 3; }, 60s));
    const long after = peak_rss_kib(klogd.pid());
    INFO("peak RSS before " << before << " KiB, after " << after << " KiB");
    CHECK(after - before < 32 * 1024);
    const auto lines = file_lines(out);
    CHECK(lines[1].starts_with("<4>[    2.000000] AAAA"));
    CHECK(lines[1].size() == 8192);
    CHECK(lines[2] == "<6>[    3.000000] after");
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    ::close(writer);
}
