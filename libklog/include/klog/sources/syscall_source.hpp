#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "klog/decoders/line_decoder.hpp"
#include "klog/sources/klogctl_fn.hpp"
#include "klog/sources/source.hpp"

namespace klog::sources {

/// The syslog(2) backend (`-s`), for kernels without /dev/kmsg or a /proc to read.
///
/// Live: a steady_timer polls SYSLOG_ACTION_SIZE_UNREAD every `poll_interval` and reads only
/// what is there with SYSLOG_ACTION_READ (destructive, like /proc/kmsg), so no thread ever
/// blocks in the kernel; idle cost is one system call per interval.
/// One-shot (`read_all`): SYSLOG_ACTION_READ_ALL into a buffer sized from SIZE_BUFFER, grown
/// until the result is smaller than the buffer, non-destructive.
class syscall_source final : public source {
  public:
    static constexpr std::chrono::milliseconds default_poll_interval{1000};

    syscall_source(boost::asio::io_context& io, klogctl_fn klogctl,
                   std::chrono::milliseconds poll_interval = default_poll_interval);

    /// Non-destructive dump of the whole buffer to `handler`. Throws std::system_error
    /// ("syslog(2) READ_ALL") when the kernel refuses.
    void read_all(record_handler& handler);
    bool read_snapshot(record_handler& handler) override {
        read_all(handler);
        return true;
    }

    [[nodiscard]] const std::string& name() const noexcept override { return name_; }
    read_status read_available(record_handler& handler, std::error_code& ec) override;
    void async_wait(std::function<void(std::error_code)> done) override;
    void close() noexcept override;

    /// Lines longer than line_decoder::max_line read live so far (each delivered cut,
    /// malformed; read_all() counts its own only as malformed).
    [[nodiscard]] std::uint64_t cut_lines() const noexcept override {
        return decoder_.cut_lines();
    }

  private:
    std::string name_ = "syslog(2)";
    klogctl_fn klogctl_;
    std::chrono::milliseconds poll_interval_;
    boost::asio::steady_timer timer_;
    decoders::line_decoder decoder_;
    std::vector<char> buffer_;
    bool open_ = true;
};

}  // namespace klog::sources
