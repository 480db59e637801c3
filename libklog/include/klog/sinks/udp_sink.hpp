#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <string>

#include "klog/sinks/delivery_queue.hpp"
#include "klog/sinks/network_endpoint.hpp"
#include "klog/sinks/sink.hpp"

namespace klog::sinks {

/// A syslog collector over UDP (`udp://`, RFC 5426): one datagram per record, on the
/// application's io_context. UDP says nothing about delivery: a record is safe once sent
/// (best effort). The network outputs' delivery_queue (in memory; a datagram counts as
/// acknowledged once sent) rides out a busy socket; the output is `drop` by
/// default (past `queue_max` it drops and reports each gap in front of the next record:
/// `klogd: missed N kernel messages (seq A..B)`), `block` if asked. A send that fails (ICMP
/// port unreachable reported as ECONNREFUSED for an earlier datagram) is tried once more,
/// then the record is counted as dropped and reported the same way.
class udp_sink final : public sink {
  public:
    struct settings {
        network_endpoint endpoint;
        std::size_t queue_max = 10000;
        std::chrono::milliseconds retry_resolve{5000};
        /// A send refused for want of memory (ENOBUFS) is tried again after this.
        std::chrono::milliseconds retry_busy{50};
    };

    udp_sink(boost::asio::io_context& io, settings s, std::unique_ptr<formatters::formatter> format,
             when_full mode = when_full::drop, diagnostics_fn diag = {});
    ~udp_sink() override;
    udp_sink(const udp_sink&) = delete;
    udp_sink& operator=(const udp_sink&) = delete;

    [[nodiscard]] std::size_t unsafe() const noexcept override { return queue_.unsafe(); }
    [[nodiscard]] std::size_t queued() const noexcept override { return queue_.waiting(); }
    [[nodiscard]] bool full() const noexcept override { return queue_.full(); }
    [[nodiscard]] bool idle() const noexcept override { return queue_.idle(); }
    void flush() override { kick(); }
    void close() override;

  protected:
    void put(std::string_view bytes, const record_meta& meta) override;
    [[nodiscard]] std::optional<record_meta> first_unsafe() const noexcept override {
        return queue_.first_unsafe();
    }

  private:
    void resolve();
    void kick();

    boost::asio::io_context& io_;
    settings s_;
    boost::asio::ip::udp::resolver resolver_;
    boost::asio::steady_timer timer_;
    std::shared_ptr<boost::asio::ip::udp::socket> socket_;
    bool ready_ = false;
    bool sending_ = false;  ///< a wait for the socket (or the ENOBUFS timer) is armed
    bool retried_ = false;
    std::shared_ptr<char> alive_ = std::make_shared<char>();
    delivery_queue queue_;
    std::uint64_t sends_ = 0;  ///< datagrams sent: the queue's tokens
    loss_gap failed_;  ///< sends that failed, reported in front of the next datagram
};

}  // namespace klog::sinks
