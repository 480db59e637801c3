#include "klogd/pidfile.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <system_error>

#include "klog/os/os.hpp"

namespace klogd {

namespace {

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
    throw std::system_error(EPERM, std::generic_category(),
                            "refusing pid file " + path + ": " + why);
}

/// Refuses a pid file another user could have planted or could rewrite.
void check_safe(int fd, const std::string& path) {
    struct stat st {};
    if (const auto ec = klog::os::status(fd, st)) throw klog::os::failure(ec, "check", path);
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

}  // namespace

pidfile::pidfile(std::string path) : path_(std::move(path)) {
    auto fd = klog::os::open(path_, O_RDWR | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0644);
    check_safe(fd.get(), path_);
    if (const auto ec = klog::os::lock_exclusive(fd.get())) {
        if (ec == std::errc::operation_would_block) {
            const auto pid = klog::os::record_lock_holder(fd.get());
            throw std::system_error(EEXIST, std::generic_category(),
                                    "already running (pid " +
                                        (pid > 0 ? std::to_string(pid) : std::string("unknown")) +
                                        ", " + path_ + ")");
        }
        throw klog::os::failure(ec, "lock", path_);
    }
    fd_ = std::move(fd);
}

pidfile::~pidfile() = default;

void pidfile::write(pid_t pid) {
    if (const auto ec = klog::os::lock_record(fd_.get())) throw klog::os::failure(ec, "lock", path_);
    const std::string text = std::to_string(pid) + "\n";
    std::error_code ec = klog::os::truncate(fd_.get(), 0);
    if (!ec) klog::os::pwrite_all(fd_.get(), text, 0, ec);
    if (ec) throw klog::os::failure(ec, "write", path_);
}

void pidfile::remove() noexcept {
    if (!fd_) return;
    std::error_code ignored;
    klog::os::unlink(path_, ignored);
    fd_.reset();
}

std::optional<pid_t> pidfile::running_pid(const std::string& path) {
    std::error_code ec;
    const auto fd = klog::os::open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0, ec);
    if (ec == std::errc::no_such_file_or_directory) return std::nullopt;
    if (ec) throw klog::os::failure(ec, "open", path);
    check_safe(fd.get(), path);
    const pid_t pid = klog::os::record_lock_holder(fd.get());
    if (pid <= 0) return std::nullopt;
    return pid;
}

}  // namespace klogd
