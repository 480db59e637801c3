#include "klogd/daemon.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "klog/os/os.hpp"
#include "klogd/defaults.hpp"
#include "klogd/pidfile.hpp"

namespace klogd {

int daemon::ready_fd_ = -1;
bool daemon::quiet_stderr_ = false;

bool daemon::open_standard_fds() noexcept {
    for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
        if (klog::os::is_open(fd)) continue;
        std::error_code ec;
        // The lowest free descriptor is `fd` itself (the ones below it are open by now).
        auto null_fd = klog::os::open("/dev/null", O_RDWR | O_NOCTTY, 0, ec);
        if (ec) return false;
        if (null_fd.get() == fd) {
            // Standard descriptors are inherited (the seam opens close-on-exec).
            if (klog::os::make_inheritable(fd)) return false;
            (void)null_fd.release();
        } else if (klog::os::duplicate_to(null_fd.get(), fd)) {
            return false;
        }
    }
    return true;
}

void daemon::detach(bool keep_stderr, bool keep_stdin) {
    auto [ready_read, ready_write] = klog::os::pipe();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid > 0) {
        // Parent: wait for the child's word (or its death), then leave.
        ready_write.reset();
        char byte = 0;
        std::error_code ec;
        if (klog::os::read(ready_read.get(), &byte, 1, ec) == 1) ::_exit(0);
        int status = 0;
        ::waitpid(pid, &status, 0);
        ::_exit(WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 1);
    }
    ready_read.reset();
    ready_fd_ = ready_write.release();
    if (::setsid() < 0) throw std::system_error(errno, std::generic_category(), "setsid");
    if (::chdir("/") != 0) throw std::system_error(errno, std::generic_category(), "chdir /");
    ::umask(022);
    std::error_code ec;
    // dup2 leaves the copies without close-on-exec. Standard error stays until ready(): what
    // fails on the way there (a metrics port in use, a pid file's directory) reaches the
    // terminal, not /dev/null.
    auto null_fd = klog::os::open("/dev/null", O_RDWR, 0, ec);
    if (!ec) {
        if (!keep_stdin) (void)klog::os::duplicate_to(null_fd.get(), STDIN_FILENO);
        (void)klog::os::duplicate_to(null_fd.get(), STDOUT_FILENO);
        if (null_fd.get() <= STDERR_FILENO) (void)null_fd.release();  // one of the three now
    }
    quiet_stderr_ = !keep_stderr;
}

void daemon::ready() noexcept {
    if (ready_fd_ < 0) return;
    if (quiet_stderr_) {
        // Before the word: the terminal (or the pipe of whoever started klogd) is let go of
        // by the time the parent returns.
        std::error_code ec;
        auto null_fd = klog::os::open("/dev/null", O_RDWR, 0, ec);
        if (!ec) (void)klog::os::duplicate_to(null_fd.get(), STDERR_FILENO);
        quiet_stderr_ = false;
    }
    std::error_code ignored;  // the parent is gone: nobody to tell
    klog::os::write(ready_fd_, "R", 1, ignored);
    klog::os::unique_fd(ready_fd_).reset();
    ready_fd_ = -1;
}

void daemon::drop_privileges(const std::string& user) {
    errno = 0;
    const passwd* pw = ::getpwnam(user.c_str());
    if (pw == nullptr) {
        throw std::system_error(errno != 0 ? errno : ENOENT, std::generic_category(),
                                "--user " + user + ": no such user");
    }
    if (::initgroups(pw->pw_name, pw->pw_gid) != 0 || ::setgid(pw->pw_gid) != 0 ||
        ::setuid(pw->pw_uid) != 0) {
        throw std::system_error(errno, std::generic_category(), "--user " + user);
    }
    // Paranoia: regaining root must now be impossible.
    if (pw->pw_uid != 0 && ::setuid(0) == 0) {
        throw std::system_error(EPERM, std::generic_category(),
                                "--user " + user + ": could regain root");
    }
}

void daemon::notify(std::string_view state) noexcept {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (path == nullptr || path[0] == '\0') return;
    std::error_code ec;
    try {
        const auto fd = klog::os::socket(AF_UNIX, SOCK_DGRAM, 0, ec);
        if (!ec) klog::os::send_to_unix(fd.get(), path, state, MSG_NOSIGNAL, ec);
    } catch (...) {
        // No memory for the path: the service manager waits for its timeout.
    }
}

pid_t daemon::signal_running(const std::string& pidfile_path, int signo) {
    const auto pid = pidfile::running_pid(pidfile_path);
    if (!pid || *pid <= 1 || *pid == ::getpid()) {
        throw std::system_error(ESRCH, std::generic_category(),
                                "no klogd running (" + pidfile_path + " is not held by a daemon)");
    }
    if (::kill(*pid, signo) != 0) {
        throw std::system_error(errno, std::generic_category(),
                                "cannot signal klogd pid " + std::to_string(*pid));
    }
    return *pid;
}

void daemon::hand_over_state_directory(const std::string& state_file, uid_t uid, gid_t gid,
                                       const std::string& user) {
    const std::filesystem::path state(state_file);
    const auto dir = state.has_parent_path() ? state.parent_path() : std::filesystem::path(".");
    struct stat st {};
    if (klog::os::path_status(dir.string(), st)) {
        // Ours to make, and to give to the user.
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (!ec) klog::os::change_owner(dir.string(), uid, gid, ec, true);
        if (ec) {
            throw std::system_error(ec, "--state-file " + state_file + ": " + dir.string());
        }
    } else {
        const bool writable = (st.st_uid == uid && (st.st_mode & S_IWUSR) != 0) ||
                              (st.st_gid == gid && (st.st_mode & S_IWGRP) != 0) ||
                              (st.st_mode & S_IWOTH) != 0;
        if (!writable && dir == std::filesystem::path(defaults::state_dir) && st.st_uid == 0) {
            // klogd's own directory, made by an earlier run as root.
            std::error_code ec;
            klog::os::change_owner(dir.string(), uid, gid, ec, true);
            if (ec) {
                throw std::system_error(ec, "cannot give " + dir.string() + " to --user " +
                                                user);
            }
        } else if (!writable) {
            throw std::system_error(EACCES, std::generic_category(),
                                    "--state-file " + state_file + ": " + dir.string() +
                                        " is not writable by --user " + user);
        }
    }
    // A state file an earlier run left as root is replaced by rename: the directory is
    // what counts.
}

}  // namespace klogd
