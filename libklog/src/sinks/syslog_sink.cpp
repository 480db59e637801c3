#include "klog/sinks/syslog_sink.hpp"

#include "klog/os/os.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <system_error>

#include "klog/formatters/local_syslog_formatter.hpp"

namespace klog::sinks {

namespace asio = boost::asio;
using asio::local::datagram_protocol;

std::unique_ptr<formatters::formatter> syslog_sink::make_formatter() {
    return std::make_unique<formatters::local_syslog_formatter>();
}

syslog_sink::syslog_sink(asio::io_context& io, settings s)
    : syslog_sink(io, std::move(s), make_formatter()) {}

syslog_sink::syslog_sink(asio::io_context& io, settings s,
                         std::unique_ptr<formatters::formatter> format)
    : sink(s.path, std::move(format), when_full::block),
      s_(std::move(s)),
      socket_(io),
      timer_(io),
      retry_delay_(s_.retry_initial) {
    sockaddr_un addr{};
    if (s_.path.size() >= sizeof addr.sun_path) {
        throw std::system_error(ENAMETOOLONG, std::generic_category(), s_.path);
    }
    connect();
}

syslog_sink::~syslog_sink() {
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
}

bool syslog_sink::connect() noexcept {
    boost::system::error_code ec;
    socket_.close(ec);
    socket_.open(datagram_protocol(), ec);
    if (!ec) socket_.non_blocking(true, ec);
    if (!ec) socket_.connect(datagram_protocol::endpoint(s_.path), ec);
    if (ec) {
        last_error_ = std::error_code(ec.value(), std::generic_category());
        socket_.close(ec);
        return false;
    }
    return true;
}

syslog_sink::outcome syslog_sink::send(std::string_view datagram) noexcept {
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (!socket_.is_open() && !connect()) return outcome::away;
        std::error_code ec;
        os::send(socket_.native_handle(), datagram.data(), datagram.size(), MSG_NOSIGNAL, ec);
        if (!ec) {
            ++counters_.written;
            last_error_.clear();
            return outcome::sent;
        }
        last_error_ = ec;
        if (ec == std::errc::resource_unavailable_try_again) return outcome::busy;
        // No memory for the datagram: the socket stays writable, so waiting for it would spin.
        if (ec == std::errc::no_buffer_space) return outcome::later;
        // ECONNREFUSED, ENOTCONN, ENOENT...: the syslog daemon restarted; reconnect, resend.
        boost::system::error_code ignored;
        socket_.close(ignored);
    }
    return outcome::away;
}

void syslog_sink::put(std::string_view bytes, const record_meta& meta) {
    // The formatter writes one record; a trailing newline is not part of a datagram.
    if (!s_.keep_final_newline && !bytes.empty() && bytes.back() == '\n') {
        bytes.remove_suffix(1);
    }
    if (queue_.empty() && !waiting_ && send(bytes) == outcome::sent) return;
    queue_.push_back({std::string(bytes), meta});
    if (!waiting_) send_queue();
}

void syslog_sink::send_queue() {
    const bool was_full = full();
    bool progressed = false;
    while (!queue_.empty()) {
        const auto result = send(queue_.front().bytes);
        if (result == outcome::busy) {
            wait_writable();
            break;
        }
        if (result == outcome::away || result == outcome::later) {
            retry_later();
            break;
        }
        queue_.pop_front();
        progressed = true;
        retry_delay_ = s_.retry_initial;
    }
    if (progressed && (was_full || queue_.empty())) progress();
}

void syslog_sink::wait_writable() {
    waiting_ = true;
    const std::weak_ptr<char> alive = alive_;
    const auto gen = generation_;
    socket_.async_wait(datagram_protocol::socket::wait_write,
                       [this, alive, gen](const boost::system::error_code& ec) {
                           if (alive.expired() || gen != generation_) return;
                           waiting_ = false;
                           if (ec == asio::error::operation_aborted) return;
                           send_queue();
                       });
}

void syslog_sink::retry_later() {
    waiting_ = true;
    const std::weak_ptr<char> alive = alive_;
    const auto gen = generation_;
    timer_.expires_after(retry_delay_);
    retry_delay_ = std::min(retry_delay_ * 2, s_.retry_max);
    timer_.async_wait([this, alive, gen](const boost::system::error_code& ec) {
        if (alive.expired() || gen != generation_) return;
        waiting_ = false;
        if (ec) return;
        send_queue();
    });
}

void syslog_sink::flush() {
    if (!waiting_) send_queue();
}

void syslog_sink::reopen() {
    // SIGHUP: the syslog daemon may have a new socket at the same path.
    boost::system::error_code ignored;
    ++generation_;  // a wait or timer armed before is void now
    timer_.cancel();
    socket_.close(ignored);
    waiting_ = false;
    retry_delay_ = s_.retry_initial;
    connect();
    send_queue();
}

void syslog_sink::close() {
    boost::system::error_code ignored;
    ++generation_;
    timer_.cancel();
    socket_.close(ignored);
    waiting_ = false;
}

}  // namespace klog::sinks
