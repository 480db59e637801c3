#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "klog/sinks/backoff.hpp"
#include "klog/sinks/delivery_queue.hpp"
#include "klog/sinks/framing.hpp"
#include "klog/sinks/network_endpoint.hpp"
#include "klog/sinks/sink.hpp"
#include "klog/sinks/stream_protocol.hpp"

namespace klog::sinks {

/// A collector over TCP or TLS, on the application's io_context: syslog (`tcp://`, RFC 6587;
/// `tls://`, RFC 5425) or RELP (`relp://`, `relps://`) — the stream_protocol. Records are kept
/// by a delivery_queue (memory, or the disk spool when `spool_dir` is set) and go out in
/// batches, framed by the protocol (syslog: octet counting, default, or LF).
///
/// - A record is safe once it is in the spool, or once the collector has it: for syslog when
///   its TCP acknowledged the record's last byte (TCP_INFO `tcpi_bytes_acked`, polled after
///   each write and every `ack_poll` while bytes are unacknowledged; for TLS, counted at the
///   socket under the TLS layer); for RELP when the collector answered `200 OK` for it. RELP
///   keeps at most `relp_window` transactions open; a refused record (any other answer), a
///   `serverclose` or a broken frame is counted, said once in the collector's words, and the
///   connection is made again: the record goes again. The queue's cap makes the output full: `block` (the default) stops the daemon
///   reading the kernel, `drop` drops with one notice per gap.
/// - The connection is read all the time (whatever the collector sends is discarded), so a
///   close by the collector is seen at once and klogd never resets a connection by closing it
///   with unread data (which makes the collector's kernel throw away what it acknowledged).
/// - Connection lost (closed or reset by the collector, a write error): every record not
///   acknowledged goes again, and so do those acknowledged in the last 10 s (at most 8 MiB: a
///   collector killed before it stored what its TCP acknowledged would lose them). Receivers
///   may see those twice (counted as `resent`); RFC 5424 `boot` and `seq` are the key to drop
///   them.
/// - Reconnects wait `backoff` (exponential from 200 ms to 30 s, jittered; back to 200 ms only
///   once the collector acknowledges records, not on every accepted connection). SIGHUP
///   (`reopen`) stops sending, waits (at most `hup_timeout`) until the collector acknowledged
///   what was sent, closes cleanly and reconnects at once, sending again only what was not
///   acknowledged by then.
/// - `close()` (exit) ends the connection cleanly (TLS close_notify, FIN) once the caller has
///   let the queue drain; `closed()` says when it is done.
/// - TCP keepalive and TCP_USER_TIMEOUT (`user_timeout`) end a connection to a collector that
///   vanished without a word.
/// - TLS: certificate checked against `tls_ca` (else the system's CAs) and the host name or IP
///   address; optional client certificate and key.
class stream_sink final : public sink {
  public:
    /// Why a collector's own words ended a connection (RELP).
    enum class collector_error { none, refused, broken, closing, silent };

    struct settings {
        bool tls = false;
        bool relp = false;              ///< RELP instead of plain syslog
        std::size_t relp_window = 128;  ///< RELP: transactions open at most
        /// RELP: a collector that leaves an open transaction (the session's open or a record)
        /// unanswered this long is given up on and connected to again.
        std::chrono::milliseconds answer_timeout{90000};
        network_endpoint endpoint;
        sinks::framing framing = sinks::framing::octet_counting;
        std::optional<std::string> tls_ca;
        std::optional<std::string> tls_cert;
        std::optional<std::string> tls_key;
        std::optional<std::string> spool_dir;  ///< this output's own directory
        std::uint64_t spool_max = 64ULL << 20;
        delivery_queue::limits queue{};
        std::chrono::milliseconds backoff_initial{200};
        std::chrono::milliseconds backoff_max{30000};
        std::chrono::milliseconds connect_timeout{5000};
        std::chrono::milliseconds ack_poll{20};
        std::chrono::milliseconds close_timeout{1000};
        std::chrono::milliseconds hup_timeout{10000};
        std::chrono::milliseconds user_timeout{30000};
    };

    /// Throws std::system_error for TLS files or a spool directory that cannot be used.
    /// Connecting starts at once.
    stream_sink(boost::asio::io_context& io, settings s,
                std::unique_ptr<formatters::formatter> format, when_full mode = when_full::block,
                diagnostics_fn diag = {});
    ~stream_sink() override;
    stream_sink(const stream_sink&) = delete;
    stream_sink& operator=(const stream_sink&) = delete;

    [[nodiscard]] std::size_t unsafe() const noexcept override { return queue_.unsafe(); }
    [[nodiscard]] std::size_t queued() const noexcept override { return queue_.waiting(); }
    [[nodiscard]] bool full() const noexcept override { return queue_.full(); }
    [[nodiscard]] bool idle() const noexcept override { return queue_.idle(); }
    void flush() override;
    void sync() override;
    void reopen() override;
    void close() override;
    void hand_over(unsigned uid, unsigned gid) override;
    [[nodiscard]] bool closed() const noexcept override { return state_ == state::closed; }
    [[nodiscard]] std::error_code last_error() const noexcept override { return last_error_; }
    [[nodiscard]] std::string held() const override;
    [[nodiscard]] std::string spool_directory() const override;
    [[nodiscard]] bool spool_had_records() const noexcept override { return spool_had_records_; }
    [[nodiscard]] std::optional<std::uint64_t> acknowledged_seq() const noexcept override;
    void save_acknowledged() override {
        if (auto* disk = queue_.disk()) disk->save_acked();
    }
    void resume_acknowledged(std::optional<std::uint64_t> seq) noexcept override {
        queue_.resume_acknowledged(seq);
    }
    [[nodiscard]] bool connected() const noexcept { return state_ == state::connected; }

  protected:
    void put(std::string_view bytes, const record_meta& meta) override;
    [[nodiscard]] std::optional<record_meta> first_unsafe() const noexcept override {
        return queue_.first_unsafe();
    }

  private:
    enum class state { waiting, connecting, connected, closing, closed };

    void kick();
    void start_connect();
    void connect_failed(const std::string& what, const std::error_code& ec);
    void on_connected();
    void start_read();
    void handle(const stream_protocol::events& ev);
    /// Counts and says (once) what the collector answered; true when it ends the session.
    bool note(const stream_protocol::events& ev);
    /// RELP: watches that open transactions get an answer within `answer_timeout`.
    void arm_answer_check();
    /// Writes a greeting or farewell (no records), then `then`.
    void send_control(std::string bytes, std::function<void()> then);
    void connection_lost(const std::string& what, bool orderly,
                         collector_error why = collector_error::none);
    void poll_acks();
    void arm_ack_poll();
    void arm_forget();
    /// Ends the connection cleanly, then calls `then` (reconnect, or nothing at exit).
    void graceful_close(std::function<void()> then);
    void close_step_acks(std::chrono::steady_clock::time_point deadline,
                         std::function<void()> then);
    void close_step_shutdown(std::function<void()> then);
    void close_transport() noexcept;
    void schedule_reconnect();
    [[nodiscard]] boost::asio::ip::tcp::socket& tcp_socket();
    [[nodiscard]] std::uint64_t stream_position() const;
    /// A handler's guard: the sink still exists and the connection it was made for is the
    /// current one.
    template <typename F>
    auto guarded(F&& f);

    boost::asio::io_context& io_;
    settings s_;
    std::optional<boost::asio::ssl::context> ssl_;
    boost::asio::ip::tcp::resolver resolver_;
    boost::asio::steady_timer timer_;
    boost::asio::steady_timer ack_timer_;
    boost::asio::steady_timer forget_timer_;
    boost::asio::steady_timer answer_timer_;
    std::chrono::steady_clock::time_point last_heard_{};  ///< RELP: the last answer, or since
                                                          ///< when one is awaited
    bool answers_stopped_ = false;  ///< closing: the collector will acknowledge no more
    // Shared with the handlers of operations on them, so a closed transport outlives its
    // aborted operations.
    std::shared_ptr<boost::asio::ip::tcp::socket> socket_;
    std::shared_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls_;
    state state_ = state::waiting;
    bool writing_ = false;
    std::size_t in_flight_ = 0;  ///< tcp: records of the write in progress, not yet counted sent
    std::vector<std::size_t> frame_ends_;  ///< where each record of the write ends in wire_
    bool ack_armed_ = false;
    bool forget_armed_ = false;
    bool spool_had_records_ = false;
    std::unique_ptr<stream_protocol> protocol_;
    std::vector<std::uint64_t> tokens_;  ///< per record of the batch in flight (RELP)
    std::string control_;                ///< a greeting or farewell in flight
    std::string refused_said_;           ///< the last refusal said (once)
    std::string broken_said_;            ///< the last broken answer said (once)
    std::function<void()> peer_closed_;  ///< closing: what follows the collector's close
    bool stopping_ = false;  ///< close() was called: no reconnecting
    std::function<void()> after_write_;  ///< a graceful close waiting for the write in flight
    std::uint64_t generation_ = 0;
    std::uint32_t outstanding_ = 0;  ///< asynchronous operations not completed yet
    std::shared_ptr<char> alive_ = std::make_shared<char>();
    std::uint64_t written_bytes_ = 0;  ///< plain TCP: bytes the socket took on this connection
    std::string wire_;
    std::array<char, 4096> read_buffer_{};
    delivery_queue queue_;
    sinks::backoff backoff_;
    std::error_code last_error_;
    std::uint32_t failures_ = 0;
};

/// The error a collector_error stands for ("the collector refused a record", ...).
[[nodiscard]] std::error_code make_error_code(stream_sink::collector_error e);

}  // namespace klog::sinks
