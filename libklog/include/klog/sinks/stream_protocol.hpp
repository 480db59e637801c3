#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "klog/sinks/framing.hpp"
#include "klog/sinks/relp.hpp"

namespace klog::sinks {

/// What a stream output speaks on its connection (stream_sink is the transport: connecting,
/// TLS, the queue, reconnects). A new protocol on TCP/TLS is one class like these.
class stream_protocol {
  public:
    /// What the collector said, read off the bytes it sent.
    struct events {
        std::optional<std::uint64_t> acked;  ///< every record up to this token is stored
        std::optional<std::string> refused;  ///< the collector refused a record: its words
        bool refused_open = false;           ///< ... the session itself, not a record
        bool closing = false;                ///< the collector says it is going away
        std::optional<std::string> broken;   ///< what it sent makes no sense
    };

    virtual ~stream_protocol() = default;
    /// "tcp://", "relps://", ...
    [[nodiscard]] virtual std::string_view scheme() const noexcept = 0;
    /// A new connection: start over.
    virtual void reset() = 0;
    /// Bytes to send before any record (empty: none).
    [[nodiscard]] virtual std::string greeting() = 0;
    /// Records may be sent now.
    [[nodiscard]] virtual bool ready() const noexcept = 0;
    /// At most this many records sent and not acknowledged (0: no limit of its own).
    [[nodiscard]] virtual std::size_t window() const noexcept = 0;
    /// Appends one record to `wire`; returns its token (0: acknowledged through TCP instead).
    virtual std::uint64_t frame(std::string_view record, std::string& wire) = 0;
    /// Acknowledgements come from the collector's TCP (TCP_INFO), not from its words.
    [[nodiscard]] virtual bool tcp_acks() const noexcept = 0;
    /// Reads what the collector sent.
    virtual void received(std::string_view bytes, events& ev) = 0;
    /// Bytes that end the session cleanly (empty: none).
    [[nodiscard]] virtual std::string farewell() = 0;
};

/// Syslog over TCP (RFC 6587) or TLS (RFC 5425): records framed by octet counting or LF; the
/// collector says nothing, its TCP acknowledges.
class syslog_stream final : public stream_protocol {
  public:
    syslog_stream(bool tls, sinks::framing how) : tls_(tls), framing_(how) {}
    [[nodiscard]] std::string_view scheme() const noexcept override {
        return tls_ ? "tls://" : "tcp://";
    }
    void reset() override {}
    [[nodiscard]] std::string greeting() override { return {}; }
    [[nodiscard]] bool ready() const noexcept override { return true; }
    [[nodiscard]] std::size_t window() const noexcept override { return 0; }
    std::uint64_t frame(std::string_view record, std::string& wire) override {
        append_frame(framing_, record, wire);
        return 0;
    }
    [[nodiscard]] bool tcp_acks() const noexcept override { return true; }
    void received(std::string_view, events&) override {}  // a syslog collector says nothing
    [[nodiscard]] std::string farewell() override { return {}; }

  private:
    bool tls_;
    sinks::framing framing_;
};

/// RELP (rsyslog's Reliable Event Logging Protocol): `open`, then one `syslog` transaction per
/// record, each acknowledged by the collector itself (`rsp 200 OK`) once it took the record;
/// at most `window` transactions open; `close` at the end.
class relp_session final : public stream_protocol {
  public:
    relp_session(bool tls, std::size_t window) : tls_(tls), window_(window) {}
    [[nodiscard]] std::string_view scheme() const noexcept override {
        return tls_ ? "relps://" : "relp://";
    }
    void reset() override;
    [[nodiscard]] std::string greeting() override;
    [[nodiscard]] bool ready() const noexcept override { return open_; }
    [[nodiscard]] std::size_t window() const noexcept override { return window_; }
    std::uint64_t frame(std::string_view record, std::string& wire) override;
    [[nodiscard]] bool tcp_acks() const noexcept override { return false; }
    void received(std::string_view bytes, events& ev) override;
    [[nodiscard]] std::string farewell() override;

  private:
    std::uint32_t next_txnr();

    bool tls_;
    std::size_t window_;
    bool open_ = false;
    /// A refusal or a broken answer came: nothing after it acknowledges (an answer to a later
    /// record would otherwise acknowledge the refused one too) until the next connection.
    bool spoiled_ = false;
    std::uint32_t txnr_ = 0;
    std::uint32_t open_txnr_ = 0;
    std::uint64_t next_token_ = 1;
    std::deque<std::pair<std::uint32_t, std::uint64_t>> in_flight_;  ///< txnr → token, in order
    relp::parser parser_;
    std::vector<relp::frame> frames_;
};

}  // namespace klog::sinks
