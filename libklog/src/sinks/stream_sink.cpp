#include "klog/sinks/stream_sink.hpp"

#include "klog/os/faults.hpp"
#include "klog/os/os.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <system_error>
#include <utility>

#include "tcp_acked.hpp"

namespace klog::sinks {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::size_t batch_bytes = 64 * 1024;
constexpr std::size_t batch_records = 1024;

[[noreturn]] void tls_setup_error(const std::string& what, const boost::system::error_code& ec) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            what + ": " + ec.message());
}

/// A test's fault for this step of Asio's I/O (klog/os/faults.hpp), as Asio's error.
boost::system::error_code step_fault(os::call what, const std::string& where) {
    const auto e = os::asio_step_fault(what, where);
    return e ? boost::system::error_code(e.value(), boost::system::system_category())
             : boost::system::error_code{};
}

/// A send or receive that a test makes fail: its handler gets the error instead, and nothing
/// is sent or received.
template <typename Handler>
bool failed_by_test(asio::io_context& io, os::call what, const std::string& where,
                    Handler& done) {
    const auto fault = step_fault(what, where);
    if (!fault) return false;
    asio::post(io, [done = std::move(done), fault]() mutable { done(fault, std::size_t{0}); });
    return true;
}

bool is_ip_literal(const std::string& host) {
    boost::system::error_code ec;
    (void)asio::ip::make_address(host, ec);
    return !ec;
}

}  // namespace

template <typename F>
auto stream_sink::guarded(F&& f) {
    ++outstanding_;
    return [this, alive = std::weak_ptr<char>(alive_), gen = generation_,
            f = std::forward<F>(f)](auto&&... args) mutable {
        if (alive.expired()) return;
        --outstanding_;
        if (gen != generation_) return;
        f(std::forward<decltype(args)>(args)...);
    };
}

stream_sink::stream_sink(asio::io_context& io, settings s,
                         std::unique_ptr<formatters::formatter> format, when_full mode,
                         diagnostics_fn diagnostics)
    : sink(std::string(s.relp ? (s.tls ? "relps://" : "relp://") : (s.tls ? "tls://" : "tcp://")) +
               s.endpoint.to_string(),
           std::move(format), mode),
      io_(io),
      s_(std::move(s)),
      resolver_(io),
      timer_(io),
      ack_timer_(io),
      forget_timer_(io),
      answer_timer_(io),
      queue_(s_.queue, s_.spool_dir ? std::make_unique<spool>(
                                          *s_.spool_dir, s_.spool_max,
                                          std::min<std::size_t>(256 * 1024, s_.spool_max / 4))
                                    : nullptr),
      backoff_(s_.backoff_initial, s_.backoff_max) {
    set_diagnostics(std::move(diagnostics));
    if (s_.relp) {
        protocol_ = std::make_unique<relp_session>(s_.tls, s_.relp_window);
    } else {
        protocol_ = std::make_unique<syslog_stream>(s_.tls, s_.framing);
    }
    if (s_.tls) {
        ssl_.emplace(asio::ssl::context::tls_client);
        ssl_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                          asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                          asio::ssl::context::no_tlsv1_1);
        ssl_->set_verify_mode(asio::ssl::verify_peer);
        boost::system::error_code ec;
        if (s_.tls_ca) {
            ssl_->load_verify_file(*s_.tls_ca, ec);
            if (ec) tls_setup_error("--tls-ca " + *s_.tls_ca, ec);
        } else {
            ssl_->set_default_verify_paths(ec);
            if (ec) tls_setup_error("system CA certificates", ec);
        }
        if (s_.tls_cert) {
            ssl_->use_certificate_chain_file(*s_.tls_cert, ec);
            if (ec) tls_setup_error("--tls-cert " + *s_.tls_cert, ec);
        }
        if (s_.tls_key) {
            ssl_->use_private_key_file(*s_.tls_key, asio::ssl::context::pem, ec);
            if (ec) tls_setup_error("--tls-key " + *s_.tls_key, ec);
        }
    }
    queue_.set_damage_notice([this](const spool::damage& d) {
        const std::string text = "klogd: missed kernel messages: spool file " + d.file +
                                 " damaged, " + std::to_string(d.bytes) + " bytes unreadable";
        diag(name() + ": " + text);
        return format_notice(text);
    });
    if (const auto* disk = queue_.disk(); disk != nullptr && !disk->empty()) {
        spool_had_records_ = true;
        diag(name() + ": " + std::to_string(disk->bytes()) + " bytes spooled in " +
             disk->directory() + " from an earlier run; sending them once connected");
    }
    start_connect();
}

stream_sink::~stream_sink() {
    try {
        stopping_ = true;
        ++generation_;
        timer_.cancel();
        ack_timer_.cancel();
        forget_timer_.cancel();
        answer_timer_.cancel();
        close_transport();
        // Let the aborted operations finish while their objects still exist.
        if (io_.stopped()) io_.restart();
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        while (outstanding_ > 0 && std::chrono::steady_clock::now() < deadline) {
            if (io_.run_one_until(deadline) == 0) break;
        }
    } catch (...) {
        // Destructors never throw.
    }
}

tcp::socket& stream_sink::tcp_socket() { return tls_ ? tls_->next_layer() : *socket_; }

std::uint64_t stream_sink::stream_position() const {
    // TLS: every byte the TLS layer produced (handshake included) went to the socket before
    // the write completed; tcpi_bytes_acked counts the same bytes.
    if (tls_) return BIO_number_written(SSL_get_wbio(tls_->native_handle()));
    return written_bytes_;
}

std::string stream_sink::held() const {
    const auto* disk = queue_.disk();
    if (disk == nullptr || disk->empty()) return {};
    return std::to_string(disk->bytes()) + " bytes kept in the spool " + disk->directory();
}

std::string stream_sink::spool_directory() const {
    const auto* disk = queue_.disk();
    return disk != nullptr ? disk->directory() : std::string();
}

std::optional<std::uint64_t> stream_sink::acknowledged_seq() const noexcept {
    if (queue_.disk() == nullptr) return durable_seq();  // memory: safe means acknowledged
    return queue_.acknowledged_seq();
}

void stream_sink::put(std::string_view bytes, const record_meta& meta) {
    if (!bytes.empty() && bytes.back() == '\n') bytes.remove_suffix(1);
    queue_.push(bytes, meta);
    if (queue_.disk() == nullptr) kick();
}

void stream_sink::flush() {
    if (auto* disk = queue_.disk()) {
        const auto n = queue_.write_spool();
        counters_.spooled += n;
        if (disk->unwritten() != 0) {
            if (!last_error_) diag(name() + ": spool " + disk->directory() + ": " +
                                   disk->last_error().message() + " (kept in memory, retrying)");
            last_error_ = disk->last_error();
        } else if (last_error_ == disk->last_error() && last_error_) {
            last_error_.clear();
        }
        disk->save_acked();
    }
    kick();
}

void stream_sink::hand_over(unsigned uid, unsigned gid) {
    if (auto* disk = queue_.disk()) disk->hand_over(uid, gid);
}

void stream_sink::sync() {
    if (auto* disk = queue_.disk()) disk->sync();
}

void stream_sink::kick() {
    if (state_ != state::connected || writing_ || !protocol_->ready()) return;
    std::size_t ready = queue_.ready();
    if (const auto window = protocol_->window(); window != 0) {
        const auto open = queue_.unacknowledged();
        ready = std::min(ready, open >= window ? 0 : window - open);
    }
    if (ready == 0) return;
    // An answer is awaited from now on (not since the last one, long ago on a quiet system).
    if (queue_.unacknowledged() == 0) last_heard_ = std::chrono::steady_clock::now();
    wire_.clear();
    tokens_.clear();
    frame_ends_.clear();
    std::size_t n = 0;
    while (n < ready && n < batch_records && wire_.size() < batch_bytes) {
        tokens_.push_back(protocol_->frame(queue_.unsent(n).bytes, wire_));
        frame_ends_.push_back(wire_.size());
        ++n;
    }
    if (!protocol_->tcp_acks()) {
        // The collector may answer a record before this write's handler runs: sent now (a
        // write that fails rewinds them with the connection).
        for (std::size_t i = 0; i < n; ++i) queue_.mark_sent(1, tokens_[i]);
    }
    writing_ = true;
    std::shared_ptr<void> keep = tls_ ? std::shared_ptr<void>(tls_) : socket_;
    auto done = guarded([this, n, keep](const boost::system::error_code& ec, std::size_t bytes) {
        writing_ = false;
        if (ec) {
            // Only the records of which a byte left may have reached the collector: those
            // written whole, and the one cut.
            const auto whole = static_cast<std::size_t>(
                std::lower_bound(frame_ends_.begin(), frame_ends_.end(), bytes) -
                frame_ends_.begin());
            in_flight_ = bytes == 0 ? 0 : std::min(in_flight_, whole + 1);
            return connection_lost("write: " + ec.message(), false);
        }
        in_flight_ = 0;
        written_bytes_ += bytes;
        if (protocol_->tcp_acks()) queue_.mark_sent(n, stream_position());
        counters_.written += n;
        poll_acks();
        if (after_write_) {
            auto then = std::move(after_write_);
            after_write_ = nullptr;
            then();
            return;
        }
        kick();
    });
    if (failed_by_test(io_, os::call::send, name(), done)) return;
    // tcp: these records are counted as sent once the write completes; a connection lost
    // before that may have carried any of them (Asio writes at once), so they go again and
    // are said to.
    in_flight_ = protocol_->tcp_acks() ? n : 0;
    if (tls_) {
        asio::async_write(*tls_, asio::buffer(wire_), std::move(done));
    } else {
        asio::async_write(*socket_, asio::buffer(wire_), std::move(done));
    }
}

namespace {

/// What the collector's own words ended a connection with (RELP), as the error that the
/// pipeline reports while records wait.
class collector_category final : public std::error_category {
  public:
    [[nodiscard]] const char* name() const noexcept override { return "collector"; }
    [[nodiscard]] std::string message(int value) const override {
        switch (static_cast<stream_sink::collector_error>(value)) {
            case stream_sink::collector_error::refused:
                return "the collector refused a record";
            case stream_sink::collector_error::broken:
                return "the collector's answer broke the protocol";
            case stream_sink::collector_error::closing:
                return "the collector closed the session";
            case stream_sink::collector_error::silent:
                return "the collector does not answer";
            case stream_sink::collector_error::none:
                break;
        }
        return "no error";
    }
};

}  // namespace

std::error_code make_error_code(stream_sink::collector_error e) {
    static const collector_category category;
    return {static_cast<int>(e), category};
}

void stream_sink::send_control(std::string bytes, std::function<void()> then) {
    control_ = std::move(bytes);
    writing_ = true;
    std::shared_ptr<void> keep = tls_ ? std::shared_ptr<void>(tls_) : socket_;
    auto done = guarded([this, keep, then = std::move(then)](const boost::system::error_code& ec,
                                                              std::size_t written) mutable {
        writing_ = false;
        if (ec) return connection_lost("write: " + ec.message(), false);
        written_bytes_ += written;
        then();
    });
    if (failed_by_test(io_, os::call::send, name(), done)) return;
    if (tls_) {
        asio::async_write(*tls_, asio::buffer(control_), std::move(done));
    } else {
        asio::async_write(*socket_, asio::buffer(control_), std::move(done));
    }
}

bool stream_sink::note(const stream_protocol::events& ev) {
    if (ev.acked && queue_.acknowledge(*ev.acked) != 0) {
        backoff_.reset();
        progress();
    }
    if (ev.refused) {
        if (!ev.refused_open) ++counters_.refused;
        if (*ev.refused != refused_said_) {
            diag(name() + (ev.refused_open ? ": the collector refused the session: "
                                           : ": the collector refused a record: ") +
                 *ev.refused + " (it goes again after reconnecting)");
            refused_said_ = *ev.refused;
        }
        return true;
    }
    if (ev.broken) {
        ++counters_.broken;
        if (*ev.broken != broken_said_) {
            diag(name() + ": the collector's answer is broken: " + *ev.broken +
                 " (what it did not acknowledge goes again after reconnecting)");
            broken_said_ = *ev.broken;
        }
        return true;
    }
    return ev.closing;
}

void stream_sink::handle(const stream_protocol::events& ev) {
    if (note(ev)) {
        if (ev.refused) {
            return connection_lost("refused: " + *ev.refused, false, collector_error::refused);
        }
        if (ev.broken) return connection_lost(*ev.broken, false, collector_error::broken);
        return connection_lost("the collector closes the session", true,
                               collector_error::closing);
    }
    if (queue_.unacknowledged() == 0) arm_forget();
    kick();
}

void stream_sink::arm_answer_check() {
    const auto now = std::chrono::steady_clock::now();
    const auto due = last_heard_ + s_.answer_timeout;
    answer_timer_.expires_after(due > now ? due - now : std::chrono::steady_clock::duration{});
    answer_timer_.async_wait(guarded([this](const boost::system::error_code& ec) {
        if (ec || (state_ != state::connected && state_ != state::closing)) return;
        const bool awaited = queue_.unacknowledged() != 0 || !protocol_->ready();
        if (awaited && std::chrono::steady_clock::now() >= last_heard_ + s_.answer_timeout) {
            const auto secs = std::chrono::duration_cast<std::chrono::seconds>(s_.answer_timeout);
            if (state_ == state::closing) {
                answers_stopped_ = true;  // the close goes on without waiting for them
                return;
            }
            return connection_lost("no answer for " + std::to_string(secs.count()) + " s", false,
                                   collector_error::silent);
        }
        if (!awaited) last_heard_ = std::chrono::steady_clock::now();
        arm_answer_check();
    }));
}

void stream_sink::poll_acks() {
    if (!socket_ && !tls_) return;
    if (!protocol_->tcp_acks()) return;  // the collector's answers acknowledge
    const int fd = tcp_socket().native_handle();
    auto acked = detail::tcp_bytes_acked(fd);
    if (!acked && detail::tcp_outq(fd) == 0U) acked = stream_position() + 1;  // before Linux 4.1
    if (acked && queue_.acknowledge(*acked > 0 ? *acked - 1 : 0) != 0) {
        // (tcpi_bytes_acked counts our SYN: one more than the data.) The collector takes
        // records: reconnecting after its next close starts again from the shortest wait.
        backoff_.reset();
        progress();
    }
    if (queue_.unacknowledged() != 0) {
        arm_ack_poll();
    } else {
        arm_forget();
    }
}

void stream_sink::arm_forget() {
    // What was acknowledged is kept a while to be sent again if the collector dies before it
    // stored it; on a quiet system it is let go then.
    if (forget_armed_) return;
    forget_armed_ = true;
    forget_timer_.expires_after(s_.queue.resend_age);
    const std::weak_ptr<char> alive = alive_;
    forget_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
        if (alive.expired()) return;
        forget_armed_ = false;
        if (ec) return;
        if (queue_.forget_old()) arm_forget();
    });
}

void stream_sink::arm_ack_poll() {
    if (ack_armed_) return;
    ack_armed_ = true;
    ack_timer_.expires_after(s_.ack_poll);
    ack_timer_.async_wait(guarded([this](const boost::system::error_code& ec) {
        ack_armed_ = false;
        if (ec) return;
        poll_acks();
        kick();  // the spool window may refill now
    }));
}

void stream_sink::close_transport() noexcept {
    ++generation_;
    peer_closed_ = nullptr;
    writing_ = false;
    in_flight_ = 0;
    ack_armed_ = false;
    after_write_ = nullptr;
    boost::system::error_code ignored;
    ack_timer_.cancel();
    answer_timer_.cancel();
    resolver_.cancel();
    if (tls_) {
        tls_->lowest_layer().close(ignored);
        tls_.reset();
    }
    if (socket_) {
        socket_->close(ignored);
        socket_.reset();
    }
}

void stream_sink::start_connect() {
    close_transport();
    state_ = state::connecting;
    timer_.expires_after(s_.connect_timeout);
    timer_.async_wait(guarded([this](const boost::system::error_code& ec) {
        if (ec || state_ != state::connecting) return;
        connect_failed("connect", boost::system::error_code(asio::error::timed_out));
    }));
    resolver_.async_resolve(
        s_.endpoint.host, std::to_string(s_.endpoint.port),
        guarded([this](const boost::system::error_code& ec, tcp::resolver::results_type results) {
            if (ec) return connect_failed("resolve " + s_.endpoint.host, ec);
            if (s_.tls) {
                tls_ = std::make_shared<asio::ssl::stream<tcp::socket>>(io_, *ssl_);
            } else {
                socket_ = std::make_shared<tcp::socket>(io_);
            }
            std::shared_ptr<void> keep = tls_ ? std::shared_ptr<void>(tls_) : socket_;
            asio::async_connect(
                tcp_socket(), results,
                guarded([this, keep](const boost::system::error_code& cec, const tcp::endpoint&) {
                    if (cec) return connect_failed("connect", cec);
                    if (const auto f = step_fault(os::call::connect, name())) {
                        return connect_failed("connect", f);
                    }
                    // A collector that vanished without a word: the kernel gives up on
                    // unacknowledged data after user_timeout, and keepalive finds idle ones.
                    const int fd = tcp_socket().native_handle();
                    const int one = 1;
                    const auto timeout = static_cast<unsigned>(s_.user_timeout.count());
                    (void)os::set_option(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
                    (void)os::set_option(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout,
                                         sizeof timeout);
                    if (!s_.tls) return on_connected();
                    const auto& host = s_.endpoint.host;
                    if (!is_ip_literal(host)) {
                        // SNI (SSL_set_tlsext_host_name is a macro with a C cast).
                        ::SSL_ctrl(tls_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                                   TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str()));
                    }
                    tls_->set_verify_callback(asio::ssl::host_name_verification(host));
                    tls_->async_handshake(
                        asio::ssl::stream_base::client,
                        guarded([this, keep](const boost::system::error_code& hec) {
                            if (hec) return connect_failed("TLS handshake", hec);
                            on_connected();
                        }));
                }));
        }));
}

void stream_sink::connect_failed(const std::string& what, const std::error_code& ec) {
    close_transport();
    last_error_ = ec;  // (Boost's code, with its own category and message)
    ++failures_;
    if (stopping_) {
        state_ = state::closed;
        return;
    }
    state_ = state::waiting;
    const auto delay = backoff_.next();
    diag(name() + ": " + what + ": " + ec.message() + "; retrying in " +
         std::to_string(delay.count()) + " ms");
    timer_.expires_after(delay);
    timer_.async_wait(guarded([this](const boost::system::error_code& tec) {
        if (tec || state_ != state::waiting) return;
        start_connect();
    }));
}

void stream_sink::on_connected() {
    timer_.cancel();
    state_ = state::connected;
    // The wait before the next reconnect shrinks only once the collector takes records (a
    // collector that accepts and closes at once is not hammered).
    failures_ = 0;
    written_bytes_ = 0;
    last_error_.clear();
    diag(name() + ": connected");
    protocol_->reset();
    answers_stopped_ = false;
    start_read();
    if (protocol_->window() != 0) {
        last_heard_ = std::chrono::steady_clock::now();  // the open's answer is awaited
        arm_answer_check();
    }
    if (auto hello = protocol_->greeting(); !hello.empty()) {
        // Records follow once the collector accepted it (read handler).
        send_control(std::move(hello), [this] { kick(); });
        return;
    }
    kick();
}

void stream_sink::start_read() {
    std::shared_ptr<void> keep = tls_ ? std::shared_ptr<void>(tls_) : socket_;
    auto done = guarded([this, keep](const boost::system::error_code& ec, std::size_t n) {
        if (!ec) {
            stream_protocol::events ev;
            protocol_->received(std::string_view(read_buffer_.data(), n), ev);
            last_heard_ = std::chrono::steady_clock::now();
            start_read();
            if (state_ == state::connected) {
                handle(ev);
            } else if (state_ == state::closing && note(ev)) {
                // Answers that come while closing still count; after a refusal, a broken
                // answer or the collector's goodbye none will: the close goes on at once.
                answers_stopped_ = true;
            }
            return;
        }
        if (state_ == state::closing) {
            if (peer_closed_) std::exchange(peer_closed_, nullptr)();  // after our farewell
            return;
        }
        const bool orderly = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
        connection_lost(orderly ? "closed by the collector" : ec.message(), orderly);
    });
    if (failed_by_test(io_, os::call::receive, name(), done)) return;
    if (tls_) {
        tls_->async_read_some(asio::buffer(read_buffer_), std::move(done));
    } else {
        socket_->async_read_some(asio::buffer(read_buffer_), std::move(done));
    }
}

void stream_sink::connection_lost(const std::string& what, bool orderly, collector_error why) {
    // The collector went away on its own: what its TCP acknowledged may not have been stored
    // (a collector killed with data it had read or not yet read), so the last records it
    // acknowledged go again too. Only a close of our own (SIGHUP) sends just the
    // unacknowledged ones.
    poll_acks();
    // (RELP: what the collector answered 200 for is stored; only the rest goes again.)
    const auto again = queue_.rewind(protocol_->tcp_acks()) + std::exchange(in_flight_, 0);
    counters_.resent += again;
    diag(name() + ": connection lost (" + what + "); " + std::to_string(again) +
         " records go again after reconnecting");
    if (why != collector_error::none) return connect_failed("connection", make_error_code(why));
    connect_failed("connection", orderly ? std::error_code(boost::system::error_code(asio::error::eof))
                                         : std::error_code(boost::system::error_code(
                                               asio::error::connection_reset)));
}

void stream_sink::graceful_close(std::function<void()> then) {
    if (state_ != state::connected) {
        then();
        return;
    }
    if (writing_) {
        // The batch in flight completes first.
        after_write_ = [this, then = std::move(then)]() mutable {
            graceful_close(std::move(then));
        };
        return;
    }
    state_ = state::closing;
    // At exit the caller bounds the whole stop; a HUP waits longer, so that a slow collector
    // gets everything once and the new connection starts after it.
    const auto wait = stopping_ ? s_.close_timeout : s_.hup_timeout;
    close_step_acks(std::chrono::steady_clock::now() + wait, std::move(then));
}

void stream_sink::close_step_acks(std::chrono::steady_clock::time_point deadline,
                                  std::function<void()> then) {
    // Wait (bounded) until the collector acknowledged everything sent: then nothing needs to go
    // again on the next connection.
    poll_acks();
    if (queue_.unacknowledged() != 0 && !answers_stopped_ &&
        std::chrono::steady_clock::now() < deadline) {
        timer_.expires_after(s_.ack_poll);
        timer_.async_wait(
            guarded([this, deadline, then = std::move(then)](const boost::system::error_code& ec) mutable {
                if (ec) return;
                close_step_acks(deadline, std::move(then));
            }));
        return;
    }
    // RELP: say goodbye, and let the collector answer and close first (bounded); not to a
    // collector that said goodbye or stopped making sense.
    if (auto bye = answers_stopped_ ? std::string() : protocol_->farewell(); !bye.empty()) {
        send_control(std::move(bye), [this, then = std::move(then)]() mutable {
            auto next = std::make_shared<std::function<void()>>(
                [this, then = std::move(then)]() mutable { close_step_shutdown(std::move(then)); });
            peer_closed_ = [next] {
                if (*next) std::exchange(*next, nullptr)();
            };
            timer_.expires_after(s_.close_timeout);
            timer_.async_wait(guarded([this](const boost::system::error_code& ec) {
                if (ec || !peer_closed_) return;
                std::exchange(peer_closed_, nullptr)();
            }));
        });
        return;
    }
    close_step_shutdown(std::move(then));
}

void stream_sink::close_step_shutdown(std::function<void()> then) {
    auto finish = [this, then = std::move(then)]() mutable {
        boost::system::error_code ignored;
        // FIN after the TLS close_notify: the collector reads all we sent, then sees the end.
        tcp_socket().shutdown(tcp::socket::shutdown_send, ignored);
        poll_acks();
        const auto again = queue_.rewind(false);
        counters_.resent += again;
        close_transport();
        then();
    };
    if (!tls_) {
        finish();
        return;
    }
    // close_notify, bounded: a collector need not answer it.
    boost::system::error_code ignored;
    tcp_socket().cancel(ignored);  // the read in progress; its handler sees state closing
    auto shared_finish = std::make_shared<std::function<void()>>(std::move(finish));
    timer_.expires_after(s_.close_timeout);
    timer_.async_wait(guarded([shared_finish](const boost::system::error_code& ec) {
        if (ec || !*shared_finish) return;
        auto f = std::move(*shared_finish);
        *shared_finish = nullptr;
        f();
    }));
    std::shared_ptr<void> keep = tls_;
    tls_->async_shutdown(guarded([this, keep, shared_finish](const boost::system::error_code&) {
        if (!*shared_finish) return;
        timer_.cancel();
        auto f = std::move(*shared_finish);
        *shared_finish = nullptr;
        f();
    }));
}

void stream_sink::reopen() {
    diag(name() + ": SIGHUP: reconnecting");
    backoff_.reset();
    if (state_ == state::connected) {
        graceful_close([this] {
            if (stopping_) {
                state_ = state::closed;  // a TERM came while the HUP's close went on
            } else {
                start_connect();
            }
        });
        return;
    }
    if (state_ == state::waiting) {
        timer_.cancel();
        start_connect();
    }
}

void stream_sink::close() {
    stopping_ = true;
    if (state_ == state::connected) {
        graceful_close([this] { state_ = state::closed; });
        return;
    }
    if (state_ == state::closing) return;  // a HUP's close in progress ends in closed
    timer_.cancel();
    close_transport();
    state_ = state::closed;
}

}  // namespace klog::sinks
