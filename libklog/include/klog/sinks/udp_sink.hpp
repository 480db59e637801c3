#pragma once

// <utility> before Asio (DESIGN.md, Boost 1.74 with g++ 12).
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "klog/formatters/formatter.hpp"
#include "klog/sinks/loss_gap.hpp"
#include "klog/sinks/network_endpoint.hpp"
#include "klog/sinks/network_sink.hpp"
#include "klog/sinks/queued_record.hpp"

namespace klog::sinks {

/// A syslog collector over UDP (`udp://`, RFC 5426): one datagram per record, on the
/// application's io_context; `write()` only queues. UDP says nothing about delivery: there is
/// no spool; a bounded memory queue rides out a busy socket (past `queue_max` new records are
/// dropped and the gap reported in front of the next one: `klogd: missed N kernel messages
/// (seq A..B)`). A send that fails (ICMP port unreachable reported as ECONNREFUSED for an
/// earlier datagram) is tried once more, then the record is counted as dropped.
class udp_sink final : public network_sink {
  public:
    struct settings {
        network_endpoint endpoint;
        std::size_t queue_max = 10000;
        std::chrono::milliseconds retry_resolve{5000};
        std::chrono::milliseconds shutdown_timeout{1000};
    };

    udp_sink(boost::asio::io_context& io, settings s,
             std::unique_ptr<formatters::formatter> notice_format, diagnostics_fn diag = {});
    ~udp_sink() override;
    udp_sink(const udp_sink&) = delete;
    udp_sink& operator=(const udp_sink&) = delete;

    [[nodiscard]] const std::string& name() const noexcept override { return name_; }
    void write(std::string_view bytes, const record_view& record) override;
    void flush() override;
    void reopen() override;
    [[nodiscard]] network_counters counters() const override;

  private:
    void resolve();
    void kick();
    void diag(const std::string& message) const;

    boost::asio::io_context& io_;
    settings s_;
    std::string name_;
    std::unique_ptr<formatters::formatter> notice_format_;
    diagnostics_fn diag_;
    boost::asio::ip::udp::resolver resolver_;
    boost::asio::steady_timer timer_;
    std::shared_ptr<boost::asio::ip::udp::socket> socket_;
    bool ready_ = false;
    bool sending_ = false;
    bool retried_ = false;
    std::uint32_t outstanding_ = 0;
    std::shared_ptr<char> alive_ = std::make_shared<char>();
    std::deque<queued_record> memory_;
    loss_gap gap_;
    network_counters counters_;
};

}  // namespace klog::sinks
