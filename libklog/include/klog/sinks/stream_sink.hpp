#pragma once

// <utility> before Asio (DESIGN.md, Boost 1.74 with g++ 12).
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "klog/formatters/formatter.hpp"
#include "klog/sinks/backoff.hpp"
#include "klog/sinks/framing.hpp"
#include "klog/sinks/loss_gap.hpp"
#include "klog/sinks/network_endpoint.hpp"
#include "klog/sinks/network_sink.hpp"
#include "klog/sinks/queued_record.hpp"
#include "klog/sinks/spool.hpp"

namespace klog::sinks {

/// A syslog collector over TCP (`tcp://`, RFC 6587) or TLS (`tls://`, RFC 5425), on the
/// application's io_context. `write()` only queues; everything else happens in handlers.
///
/// - Records go out in batches, framed by octet counting (default) or LF.
/// - A bounded memory queue (`queue_max` records). While the peer is unreachable, or the
///   spool still holds older records, or the memory queue is full, records go to the disk
///   spool (`spool_dir`, capped at `spool_max` bytes) and are replayed in order once the
///   connection is back. Without a spool, or with the spool full, new records are dropped and
///   the gap is reported in front of the next record that gets through:
///   `klogd: missed N kernel messages (seq A..B)`.
/// - Reconnects wait `backoff` (exponential from 200 ms to 30 s, jittered); SIGHUP reconnects
///   at once.
/// - Before each batch the socket is polled (POLLRDHUP): a peer that closed or reset is never
///   written to. After a broken connection the records written last are sent again (at least
///   once): with an orderly close (FIN) those the peer's TCP had not acknowledged (SIOCOUTQ,
///   plain TCP) and the one the peer may have read only part of; otherwise — reset, write error,
///   TLS — the last `resend_window` bytes of records. A receiver may see those twice (counted in
///   `resent`).
/// - TLS: certificate checked against `tls_ca` (else the system's CAs) and the host name or IP
///   address; optional client certificate and key.
/// - `flush()` outside the event loop (shutdown, one-shot, startup) runs the io_context until
///   the memory queue is written, for at most `shutdown_timeout`; what is left goes to the
///   spool (or is counted as dropped without one).
class stream_sink final : public network_sink {
  public:
    struct settings {
        bool tls = false;
        network_endpoint endpoint;
        sinks::framing framing = sinks::framing::octet_counting;
        std::optional<std::string> tls_ca;
        std::optional<std::string> tls_cert;
        std::optional<std::string> tls_key;
        std::optional<std::string> spool_dir;  ///< this output's own directory
        std::uint64_t spool_max = 64ULL << 20;
        std::size_t queue_max = 10000;
        std::size_t resend_window = 256 * 1024;
        std::chrono::milliseconds backoff_initial{200};
        std::chrono::milliseconds backoff_max{30000};
        std::chrono::milliseconds connect_timeout{5000};
        std::chrono::milliseconds shutdown_timeout{3000};
    };

    /// `notice_format` formats klogd's own loss notices for this output (the same format as
    /// its records). Throws std::system_error for TLS files or a spool directory that cannot
    /// be used. Connecting starts at once.
    stream_sink(boost::asio::io_context& io, settings s,
                std::unique_ptr<formatters::formatter> notice_format, diagnostics_fn diag = {});
    ~stream_sink() override;
    stream_sink(const stream_sink&) = delete;
    stream_sink& operator=(const stream_sink&) = delete;

    [[nodiscard]] const std::string& name() const noexcept override { return name_; }
    void write(std::string_view bytes, const record_view& record) override;
    void flush() override;
    void reopen() override;
    [[nodiscard]] network_counters counters() const override;
    [[nodiscard]] bool connected() const noexcept { return state_ == state::connected; }

  private:
    enum class state { waiting, connecting, connected };
    struct written {
        queued_record record;
        std::size_t wire_bytes = 0;
    };

    void accept(queued_record record);
    void place_gap_notice();
    void kick();
    void start_connect();
    void connect_failed(const std::string& what, const boost::system::error_code& ec);
    void on_connected();
    void connection_lost(const std::string& what, bool orderly);
    void close_transport() noexcept;
    void spill_to_spool();
    [[nodiscard]] bool peer_alive(bool& orderly);
    void load_spool();
    [[nodiscard]] boost::asio::ip::tcp::socket& tcp_socket();
    void drive(bool final);
    void diag(const std::string& message) const;

    boost::asio::io_context& io_;
    settings s_;
    std::string name_;
    std::unique_ptr<formatters::formatter> notice_format_;
    diagnostics_fn diag_;
    std::optional<boost::asio::ssl::context> ssl_;
    boost::asio::ip::tcp::resolver resolver_;
    boost::asio::steady_timer timer_;
    // Shared with the handlers of operations on them, so a closed transport outlives its
    // aborted operations.
    std::shared_ptr<boost::asio::ip::tcp::socket> socket_;
    std::shared_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls_;
    state state_ = state::waiting;
    bool writing_ = false;
    std::uint64_t generation_ = 0;
    std::shared_ptr<char> alive_ = std::make_shared<char>();
    std::deque<queued_record> memory_;
    std::size_t in_flight_ = 0;
    std::vector<std::size_t> in_flight_sizes_;
    std::uint32_t outstanding_ = 0;  ///< asynchronous operations not completed yet
    bool draining_ = false;          ///< shutdown: do not load more from the spool
    std::deque<written> written_;    ///< last records written on this connection (resend window)
    std::size_t written_bytes_ = 0;
    std::string wire_;
    std::optional<spool> spool_;
    loss_gap gap_;
    sinks::backoff backoff_;
    network_counters counters_;
    std::uint32_t failures_ = 0;
};

}  // namespace klog::sinks
