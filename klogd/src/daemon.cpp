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
#include <system_error>

#include "klogd/pidfile.hpp"

namespace klogd {

int daemon::ready_fd_ = -1;

bool daemon::open_standard_fds() noexcept {
    for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
        if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        // The lowest free descriptor is `fd` itself (the ones below it are open by now).
        const int null_fd = ::open("/dev/null", O_RDWR | O_NOCTTY);
        if (null_fd < 0) return false;
        if (null_fd != fd) {
            const int copied = ::dup2(null_fd, fd);
            ::close(null_fd);
            if (copied != fd) return false;
        }
    }
    return true;
}

void daemon::detach(bool keep_stderr) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe");
    const pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid > 0) {
        // Parent: wait for the child's word (or its death), then leave.
        ::close(pipe_fds[1]);
        char byte = 0;
        ssize_t n;
        do {
            n = ::read(pipe_fds[0], &byte, 1);
        } while (n < 0 && errno == EINTR);
        if (n == 1) ::_exit(0);
        int status = 0;
        ::waitpid(pid, &status, 0);
        ::_exit(WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 1);
    }
    ::close(pipe_fds[0]);
    ready_fd_ = pipe_fds[1];
    if (::setsid() < 0) throw std::system_error(errno, std::generic_category(), "setsid");
    if (::chdir("/") != 0) throw std::system_error(errno, std::generic_category(), "chdir /");
    ::umask(022);
    const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd >= 0) {
        ::dup2(null_fd, STDIN_FILENO);
        ::dup2(null_fd, STDOUT_FILENO);
        if (!keep_stderr) ::dup2(null_fd, STDERR_FILENO);
        if (null_fd > STDERR_FILENO) ::close(null_fd);
    }
}

void daemon::ready() noexcept {
    if (ready_fd_ < 0) return;
    const char byte = 'R';
    [[maybe_unused]] const ssize_t n = ::write(ready_fd_, &byte, 1);
    ::close(ready_fd_);
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
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::size_t len = std::strlen(path);
    if (len >= sizeof addr.sun_path) return;
    std::memcpy(addr.sun_path, path, len);
    if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
    [[maybe_unused]] const ssize_t n = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                                                reinterpret_cast<sockaddr*>(&addr), addr_len);
    ::close(fd);
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

}  // namespace klogd
