#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "klog/formatters/formatter.hpp"
#include "klog/sinks/sink.hpp"

namespace klog::sinks {

/// Local syslog: klogd's own datagram client to `/dev/log` (not glibc syslog(3)), one datagram
/// per record, `<PRI>Mmm dd hh:mm:ss kernel: [secs.usecs] text` with the record's facility
/// kept (kern for the kernel; userspace writers of /dev/kmsg keep theirs and their
/// `ident[pid]` tag). The text goes as it is, newlines included: the syslog daemon decides how
/// to store control bytes.
///
/// When the syslog daemon is restarting (the socket refuses or is gone), the sink reconnects
/// and sends the same record again; records it cannot send yet wait in a bounded queue
/// (oldest dropped past `max_queued`, counted) and go first on the next write or flush; the
/// daemon flushes again every second while any wait, and its cursor does not pass them.
class syslog_sink final : public sink {
  public:
    static constexpr std::size_t max_queued = 10000;

    /// The formatter this sink expects (the datagram format above).
    [[nodiscard]] static std::unique_ptr<formatters::formatter> make_formatter();

    /// Connects to the datagram socket at `path`. A socket nobody listens on yet is not an
    /// error: the sink retries. Throws std::system_error naming the path for anything else.
    explicit syslog_sink(std::string path);
    ~syslog_sink() override;
    syslog_sink(const syslog_sink&) = delete;
    syslog_sink& operator=(const syslog_sink&) = delete;

    [[nodiscard]] const std::string& name() const noexcept override { return path_; }
    void write(std::string_view bytes, const record_view& record) override;
    void flush() override;
    void reopen() override;

    [[nodiscard]] bool has_pending() const noexcept override { return !queue_.empty(); }
    [[nodiscard]] std::error_code last_error() const noexcept override { return last_error_; }
    [[nodiscard]] std::uint64_t sent() const noexcept { return sent_; }
    [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_; }
    [[nodiscard]] std::size_t queued() const noexcept { return queue_.size(); }

  private:
    bool connect() noexcept;
    /// Sends one datagram; on a vanished peer reconnects and tries once more.
    bool send(std::string_view datagram) noexcept;
    bool send_queue() noexcept;

    std::string path_;
    int fd_ = -1;
    std::deque<std::string> queue_;
    std::uint64_t sent_ = 0;
    std::uint64_t dropped_ = 0;
    std::error_code last_error_;
};

}  // namespace klog::sinks
