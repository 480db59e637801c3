#include "klogd/pidfile.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <system_error>

namespace klogd {

namespace {

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
    throw std::system_error(EPERM, std::generic_category(),
                            "refusing pid file " + path + ": " + why);
}

/// Refuses a pid file another user could have planted or could rewrite.
void check_safe(int fd, const std::string& path) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw std::system_error(errno, std::generic_category(), path);
    if (!S_ISREG(st.st_mode)) refuse(path, "not a regular file");
    if (st.st_uid != ::geteuid()) {
        refuse(path, "owned by uid " + std::to_string(st.st_uid) + ", not by uid " +
                         std::to_string(::geteuid()) + " that klogd runs as");
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        refuse(path, std::string("writable by group or others (mode ") + mode + ")");
    }
    if (st.st_nlink != 1) {
        refuse(path, "has " + std::to_string(st.st_nlink) + " hard links (one expected)");
    }
}

/// The pid of the process holding a POSIX write lock on `fd`'s file; nullopt when none does
/// (or the holder is not visible from here: another pid namespace, an OFD lock).
std::optional<pid_t> write_lock_holder(int fd) {
    struct flock query {};
    query.l_type = F_RDLCK;  // conflicts with write locks only: readers cannot pose as holders
    query.l_whence = SEEK_SET;
    query.l_start = 0;
    query.l_len = 0;
    if (::fcntl(fd, F_GETLK, &query) != 0 || query.l_type == F_UNLCK || query.l_pid <= 0) {
        return std::nullopt;
    }
    return query.l_pid;
}

}  // namespace

pidfile::pidfile(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK,
                 0644);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), path_);
    try {
        check_safe(fd_, path_);
    } catch (...) {
        ::close(fd_);
        fd_ = -1;
        throw;
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        const auto pid = write_lock_holder(fd_);
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
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    lock.l_start = 0;
    lock.l_len = 0;
    if (::fcntl(fd_, F_SETLK, &lock) != 0) {
        throw std::system_error(errno, std::generic_category(), path_ + ": lock");
    }
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
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) return std::nullopt;
        throw std::system_error(errno, std::generic_category(), path);
    }
    std::optional<pid_t> pid;
    try {
        check_safe(fd, path);
        pid = write_lock_holder(fd);
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
    return pid;
}

}  // namespace klogd
