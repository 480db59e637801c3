#include "klogd/pidfile.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string_view>
#include <system_error>

namespace klogd {

namespace {

std::optional<pid_t> read_pid(int fd) {
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return std::nullopt;
    std::string_view s(buf, static_cast<std::size_t>(n));
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
    pid_t pid = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), pid);
    if (ec != std::errc{} || end != s.data() + s.size() || pid <= 0) return std::nullopt;
    return pid;
}

}  // namespace

pidfile::pidfile(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), path_);
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        const auto pid = read_pid(fd_);
        ::close(fd_);
        fd_ = -1;
        if (err == EWOULDBLOCK) {
            throw std::system_error(EEXIST, std::generic_category(),
                                    "already running (pid " +
                                        (pid ? std::to_string(*pid) : std::string("unknown")) +
                                        ", " + path_ + ")");
        }
        throw std::system_error(err, std::generic_category(), path_);
    }
}

pidfile::~pidfile() {
    if (fd_ >= 0) ::close(fd_);
}

void pidfile::write(pid_t pid) {
    const std::string text = std::to_string(pid) + "\n";
    if (::ftruncate(fd_, 0) != 0 ||
        ::pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
        throw std::system_error(errno, std::generic_category(), path_);
    }
}

void pidfile::remove() noexcept {
    if (fd_ < 0) return;
    ::unlink(path_.c_str());
    ::close(fd_);
    fd_ = -1;
}

std::optional<pid_t> pidfile::running_pid(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0) return std::nullopt;
    // A lock we can take means nobody holds it: the file is stale.
    if (::flock(fd, LOCK_SH | LOCK_NB) == 0) {
        ::close(fd);
        return std::nullopt;
    }
    const auto pid = read_pid(fd);
    ::close(fd);
    return pid;
}

}  // namespace klogd
