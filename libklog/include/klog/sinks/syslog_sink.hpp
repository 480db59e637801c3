#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/datagram_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "klog/sinks/queued_record.hpp"
#include "klog/sinks/sink.hpp"

namespace klog::sinks {

/// Local syslog: klogd's own datagram client to `/dev/log` (not glibc syslog(3)), one datagram
/// per record, `<PRI>Mmm dd hh:mm:ss kernel: [secs.usecs] text` with the record's facility
/// kept (kern for the kernel; userspace writers of /dev/kmsg keep theirs and their
/// `ident[pid]` tag). The text goes as it is, newlines included: the syslog daemon decides how
/// to store control bytes.
///
/// A record is safe once send(2) returned. When the syslog daemon is busy (EAGAIN) the sink
/// waits until the socket is writable; when it is away (the socket refuses or is gone) it
/// reconnects on a timer (100 ms doubling to 2 s) and sends the same record again. Records
/// wait in order in a bounded queue; a full queue makes the daemon stop reading the kernel
/// (nothing is dropped), and they go out as soon as the syslog daemon is back, even if the
/// kernel stays quiet.
class syslog_sink final : public sink {
  public:
    struct settings {
        std::string path = "/dev/log";
        std::size_t max_queued = 10000;
        std::chrono::milliseconds retry_initial{100};
        std::chrono::milliseconds retry_max{2000};
        /// The datagram ends with a newline that belongs to it (journald's native protocol);
        /// otherwise a trailing newline is not sent.
        bool keep_final_newline = false;
    };

    /// The formatter this sink expects (the datagram format above).
    [[nodiscard]] static std::unique_ptr<formatters::formatter> make_formatter();

    /// A socket nobody listens on yet is not an error: the sink retries. Throws
    /// std::system_error naming the path when it is too long.
    syslog_sink(boost::asio::io_context& io, settings s);
    /// The same delivery with another datagram format (--output=journal: journal_formatter).
    syslog_sink(boost::asio::io_context& io, settings s,
                std::unique_ptr<formatters::formatter> format);
    ~syslog_sink() override;
    syslog_sink(const syslog_sink&) = delete;
    syslog_sink& operator=(const syslog_sink&) = delete;

    [[nodiscard]] std::size_t unsafe() const noexcept override { return queue_.size(); }
    [[nodiscard]] std::size_t queued() const noexcept override { return queue_.size(); }
    [[nodiscard]] bool full() const noexcept override { return queue_.size() >= s_.max_queued; }
    [[nodiscard]] bool idle() const noexcept override { return queue_.empty(); }
    void flush() override;
    void reopen() override;
    void close() override;
    [[nodiscard]] std::error_code last_error() const noexcept override { return last_error_; }

  protected:
    void put(std::string_view bytes, const record_meta& meta) override;
    [[nodiscard]] std::optional<record_meta> first_unsafe() const noexcept override {
        if (queue_.empty()) return std::nullopt;
        return queue_.front().meta;
    }

  private:
    /// busy: the socket is full (wait until it is writable); later: no memory (ENOBUFS; try
    /// again on the timer); away: the syslog daemon is gone (reconnect on the timer).
    enum class outcome { sent, busy, later, away };
    bool connect() noexcept;
    outcome send(std::string_view datagram) noexcept;
    /// Sends what waits, in order; arms the wait or the retry timer when it has to stop.
    void send_queue();
    void wait_writable();
    void retry_later();

    settings s_;
    boost::asio::local::datagram_protocol::socket socket_;
    boost::asio::steady_timer timer_;
    std::deque<queued_record> queue_;
    bool waiting_ = false;  ///< a writability wait or the retry timer is armed
    std::uint64_t generation_ = 0;
    std::chrono::milliseconds retry_delay_;
    std::shared_ptr<char> alive_ = std::make_shared<char>();
    std::error_code last_error_;
};

}  // namespace klog::sinks
