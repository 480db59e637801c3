#include "klog/sinks/syslog_sink.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "klog/formatters/local_syslog_formatter.hpp"

namespace klog::sinks {

std::unique_ptr<formatters::formatter> syslog_sink::make_formatter() {
    return std::make_unique<formatters::local_syslog_formatter>();
}

syslog_sink::syslog_sink(std::string path) : path_(std::move(path)) {
    sockaddr_un addr{};
    if (path_.size() >= sizeof addr.sun_path) {
        throw std::system_error(ENAMETOOLONG, std::generic_category(), path_);
    }
    connect();
}

syslog_sink::~syslog_sink() {
    send_queue();
    if (fd_ >= 0) ::close(fd_);
}

bool syslog_sink::connect() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) {
        last_error_ = std::error_code(errno, std::generic_category());
        return false;
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.data(), path_.size());
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        last_error_ = std::error_code(errno, std::generic_category());
        ::close(fd_);
        fd_ = -1;
        return false;
    }
    return true;
}

bool syslog_sink::send(std::string_view datagram) noexcept {
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (fd_ < 0 && !connect()) return false;
        ssize_t n;
        do {
            n = ::send(fd_, datagram.data(), datagram.size(), MSG_NOSIGNAL);
        } while (n < 0 && errno == EINTR);
        if (n >= 0) {
            ++sent_;
            last_error_.clear();
            return true;
        }
        last_error_ = std::error_code(errno, std::generic_category());
        if (errno == EAGAIN || errno == ENOBUFS) return false;  // receiver busy: queue
        // ECONNREFUSED, ENOTCONN, ENOENT...: the syslog daemon restarted; reconnect, resend.
        ::close(fd_);
        fd_ = -1;
    }
    return false;
}

bool syslog_sink::send_queue() noexcept {
    while (!queue_.empty()) {
        if (!send(queue_.front())) return false;
        queue_.pop_front();
    }
    return true;
}

void syslog_sink::write(std::string_view bytes, const record_view&) {
    // The formatter writes one record; a trailing newline is not part of a datagram.
    if (!bytes.empty() && bytes.back() == '\n') bytes.remove_suffix(1);
    if (send_queue() && send(bytes)) return;
    if (queue_.size() >= max_queued) {
        queue_.pop_front();
        ++dropped_;
    }
    queue_.emplace_back(bytes);
}

void syslog_sink::flush() { send_queue(); }

void syslog_sink::reopen() {
    connect();
    send_queue();
}

}  // namespace klog::sinks
