// Issue 12, the pid file tried as an attacker would: a file planted by `nobody` in a
// world-writable sticky directory, a pid of another process written into the file, a lock
// taken by another user. A real `sleep` stands for the victim: it must survive every `-i`.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "daemon_harness.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using klog_test::background_klogd;
using klog_test::eventually;
using klog_test::read_if_any;

extern char** environ;

namespace {

constexpr uid_t nobody = 65534;

/// A root process that must not be signalled: `sleep 120`, killed by the destructor.
class victim {
  public:
    victim() {
        char arg0[] = "sleep";
        char arg1[] = "120";
        char* argv[] = {arg0, arg1, nullptr};
        REQUIRE(::posix_spawnp(&pid_, "sleep", nullptr, nullptr, argv, environ) == 0);
    }
    ~victim() {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    victim(const victim&) = delete;
    victim& operator=(const victim&) = delete;
    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    /// Still running (not killed by a stray SIGUSR1).
    [[nodiscard]] bool alive() const {
        int status = 0;
        return ::waitpid(pid_, &status, WNOHANG) == 0;
    }

  private:
    pid_t pid_ = -1;
};

/// A process of `nobody` holding flock(LOCK_EX) on `path` (opened read-only: flock needs no
/// write access), until the destructor kills it.
class foreign_lock {
  public:
    explicit foreign_lock(const std::string& path) {
        int ready[2];
        REQUIRE(::pipe(ready) == 0);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::close(ready[0]);
            if (::setgid(nobody) != 0 || ::setuid(nobody) != 0) ::_exit(1);
            const int fd = ::open(path.c_str(), O_RDONLY);
            if (fd < 0 || ::flock(fd, LOCK_EX) != 0) ::_exit(2);
            if (::write(ready[1], "L", 1) != 1) ::_exit(3);
            for (;;) ::pause();
        }
        ::close(ready[1]);
        char byte = 0;
        locked_ = ::read(ready[0], &byte, 1) == 1;
        ::close(ready[0]);
    }
    ~foreign_lock() {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    foreign_lock(const foreign_lock&) = delete;
    foreign_lock& operator=(const foreign_lock&) = delete;
    [[nodiscard]] bool locked() const noexcept { return locked_; }

  private:
    pid_t pid_ = -1;
    bool locked_ = false;
};

struct pid_fixture {
    klog_test::temp_dir dir;
    klog_test::kmsg_standin kmsg{dir.file("kmsg.sock")};
    std::string pid = dir.file("klogd.pid");
    std::string err = dir.file("stderr.log");

    std::vector<std::string> daemon_args() const {
        return {"-n",
                "-d",
                "-x",
                "--source=kmsg:" + kmsg.path(),
                "-f",
                dir.file("out.log"),
                "--pidfile=" + pid};
    }
    /// Plants `pid` as `owner` with `mode`, naming `who`.
    void plant(pid_t who, uid_t owner, mode_t mode) const {
        klog_test::write_file(pid, std::to_string(who) + "\n");
        REQUIRE(::chown(pid.c_str(), owner, owner) == 0);
        REQUIRE(::chmod(pid.c_str(), mode) == 0);
    }
};

bool running_as_root() {
    if (::geteuid() == 0) return true;
    WARN("not root: cannot play another user");
    return false;
}

}  // namespace

TEST_CASE("a pid file planted by another user in a sticky directory is never adopted",
          "[integration][daemon][hostile]") {
    if (!running_as_root()) return;
    pid_fixture f;
    REQUIRE(::chmod(f.dir.path().c_str(), 01777) == 0);
    victim sleeper;
    f.plant(sleeper.pid(), nobody, 0666);
    const auto planted = read_if_any(f.pid);

    background_klogd klogd(f.daemon_args(), f.err);
    CHECK(klogd.wait_exit(10s) == 1);
    const auto diag = klog_test::read_file(f.err);
    INFO(diag);
    CHECK(diag.find("refusing pid file " + f.pid + ": owned by uid 65534") != std::string::npos);
    CHECK(read_if_any(f.pid) == planted);

    // -i and -I refuse it too, and signal nobody.
    for (const char* sw : {"-i", "-I"}) {
        const auto r = klog_test::run_klogd({sw, "--pidfile=" + f.pid});
        CHECK(r.exit_code == 1);
        CHECK(r.err.find("refusing pid file") != std::string::npos);
    }
    CHECK(sleeper.alive());
}

TEST_CASE("pid files that others can write, symlinks and hard links are refused",
          "[integration][daemon][hostile]") {
    if (!running_as_root()) return;
    pid_fixture f;
    victim sleeper;
    // Ours, but writable by everyone.
    f.plant(sleeper.pid(), 0, 0666);
    {
        background_klogd klogd(f.daemon_args(), f.err);
        CHECK(klogd.wait_exit(10s) == 1);
        CHECK(klog_test::read_file(f.err).find("writable by group or others (mode 0666)") !=
              std::string::npos);
    }
    // A symlink to a file klogd must not truncate.
    REQUIRE(::unlink(f.pid.c_str()) == 0);
    const auto target = f.dir.file("precious");
    klog_test::write_file(target, "precious\n");
    REQUIRE(::symlink(target.c_str(), f.pid.c_str()) == 0);
    {
        // Refused with the command line's checks (exit 2); opening it would refuse it too.
        background_klogd klogd(f.daemon_args(), f.err);
        CHECK(klogd.wait_exit(10s) == 2);
        CHECK(klog_test::read_file(f.err).find("is a symbolic link") != std::string::npos);
    }
    CHECK(klog_test::read_file(target) == "precious\n");
    // A hard link to it (protected_hardlinks stops other users; root's own mistake here).
    REQUIRE(::unlink(f.pid.c_str()) == 0);
    REQUIRE(::link(target.c_str(), f.pid.c_str()) == 0);
    {
        background_klogd klogd(f.daemon_args(), f.err);
        CHECK(klogd.wait_exit(10s) == 1);
        CHECK(klog_test::read_file(f.err).find("2 hard links") != std::string::npos);
    }
    CHECK(klog_test::read_file(target) == "precious\n");
    CHECK(sleeper.alive());
}

TEST_CASE("klogd -i signals the process holding the lock, never the pid written in the file",
          "[integration][daemon][hostile]") {
    pid_fixture f;
    victim sleeper;
    background_klogd klogd(f.daemon_args(), f.err);
    REQUIRE(f.kmsg.accept(10s));
    REQUIRE(eventually([&] { return read_if_any(f.pid) == std::to_string(klogd.pid()) + "\n"; }));
    // Whoever could write the file puts another process's pid in it.
    klog_test::write_file(f.pid, std::to_string(sleeper.pid()) + "\n");

    const auto r = klog_test::run_klogd({"-i", "--pidfile=" + f.pid});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("pid " + std::to_string(klogd.pid())) != std::string::npos);
    CHECK(eventually(
        [&] { return klog_test::read_file(f.err).find("SIGUSR1") != std::string::npos; }));
    CHECK(sleeper.alive());
    CHECK(klogd.running());
}

TEST_CASE("a lock another user takes on a stale pid file makes -i signal nobody",
          "[integration][daemon][hostile]") {
    if (!running_as_root()) return;
    pid_fixture f;
    victim sleeper;
    // A stale root pid file naming a process that is not klogd (a reused pid), world-readable
    // as pid files are; `nobody` opens it read-only and takes flock(LOCK_EX) on it.
    f.plant(sleeper.pid(), 0, 0644);
    REQUIRE(::chmod(f.dir.path().c_str(), 0755) == 0);
    foreign_lock lock(f.pid);
    REQUIRE(lock.locked());
    for (const char* sw : {"-i", "-I"}) {
        const auto r = klog_test::run_klogd({sw, "--pidfile=" + f.pid});
        CHECK(r.exit_code == 1);
        CHECK(r.err.find("no klogd running") != std::string::npos);
    }
    CHECK(sleeper.alive());
}
