#include "klog/sinks/stream_sink.hpp"

#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <system_error>

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

bool is_ip_literal(const std::string& host) {
    boost::system::error_code ec;
    (void)asio::ip::make_address(host, ec);
    return !ec;
}

}  // namespace

stream_sink::stream_sink(asio::io_context& io, settings s,
                         std::unique_ptr<formatters::formatter> notice_format,
                         diagnostics_fn diagnostics)
    : io_(io),
      s_(std::move(s)),
      name_(std::string(s_.tls ? "tls://" : "tcp://") + s_.endpoint.to_string()),
      notice_format_(std::move(notice_format)),
      diag_(std::move(diagnostics)),
      resolver_(io),
      timer_(io),
      backoff_(s_.backoff_initial, s_.backoff_max) {
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
    if (s_.spool_dir) spool_.emplace(*s_.spool_dir, s_.spool_max);
    if (spool_ && !spool_->empty()) {
        diag(name_ + ": " + std::to_string(spool_->bytes()) + " bytes spooled in " +
             spool_->directory() + " from an earlier run; replaying once connected");
    }
    start_connect();
}

stream_sink::~stream_sink() {
    try {
        if (!memory_.empty() || writing_ || gap_.pending()) drive(true);
        timer_.cancel();
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

void stream_sink::diag(const std::string& message) const {
    if (diag_) diag_(message);
}

network_counters stream_sink::counters() const {
    auto c = counters_;
    c.queued = memory_.size();
    c.spool_bytes = spool_ ? spool_->bytes() : 0;
    return c;
}

tcp::socket& stream_sink::tcp_socket() { return tls_ ? tls_->next_layer() : *socket_; }

void stream_sink::write(std::string_view bytes, const record_view& record) {
    if (!bytes.empty() && bytes.back() == '\n') bytes.remove_suffix(1);
    accept(queued_record{std::string(bytes), record.seq});
    kick();
}

void stream_sink::accept(queued_record record) {
    const bool to_spool = spool_ && (state_ != state::connected || !spool_->empty() ||
                                     memory_.size() >= s_.queue_max);
    if (to_spool) {
        if (!spool_->fits(record.bytes.size())) {
            if (!gap_.pending())
                diag(name_ + ": spool full (" + std::to_string(spool_->bytes()) +
                     " bytes): dropping records");
            gap_.add(record.seq);
            ++counters_.dropped;
            return;
        }
        place_gap_notice();
        if (spool_->append(record)) {
            ++counters_.spooled;
        } else {
            if (!gap_.pending()) diag(name_ + ": cannot write to the spool: dropping records");
            gap_.add(record.seq);
            ++counters_.dropped;
        }
        return;
    }
    if (memory_.size() >= s_.queue_max) {
        if (!gap_.pending()) diag(name_ + ": queue full: dropping records");
        gap_.add(record.seq);
        ++counters_.dropped;
        return;
    }
    place_gap_notice();
    memory_.push_back(std::move(record));
}

void stream_sink::place_gap_notice() {
    if (!gap_.pending()) return;
    queued_record notice{format_notice(*notice_format_, gap_.notice()), std::nullopt};
    diag(name_ + ": " + gap_.notice());
    gap_.clear();
    const bool to_spool = spool_ && (state_ != state::connected || !spool_->empty());
    if (to_spool && spool_->append(notice, true)) return;
    memory_.push_back(std::move(notice));  // may pass queue_max by one: it is the loss report
}

void stream_sink::flush() {
    kick();
    if (io_.get_executor().running_in_this_thread()) return;
    // Outside the event loop: shutdown (the loop has stopped), one-shot, the startup backlog.
    drive(io_.stopped());
}

void stream_sink::reopen() {
    diag(name_ + ": SIGHUP: reconnecting");
    if (state_ == state::connected) {
        connection_lost("reconnecting on SIGHUP", true);
    }
    backoff_.reset();
    if (state_ == state::waiting) {
        timer_.cancel();
        start_connect();
    }
}

void stream_sink::drive(bool final) {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + s_.shutdown_timeout;
    if (final) {
        draining_ = true;
        if (gap_.pending()) {
            // No next record will carry it: it goes at the end.
            place_gap_notice();
        }
    }
    if (io_.stopped()) {
        if (!final) return;  // someone stopped the loop (TERM): the final flush follows
        io_.restart();
    }
    while (clock::now() < deadline) {
        if (state_ == state::waiting) break;  // unreachable: the spool takes the rest
        if (memory_.empty() && !writing_ && (draining_ || !spool_ || spool_->empty())) break;
        kick();
        if (io_.run_one_until(deadline) == 0) break;
    }
    if (!final) return;
    if (!memory_.empty()) {
        if (writing_) close_transport();  // in-flight records are still at the queue's front
        if (spool_) {
            spill_to_spool();
        }
        if (!memory_.empty()) {
            diag(name_ + ": " + std::to_string(memory_.size()) +
                 " records could not be sent before exit and are lost");
            counters_.dropped += memory_.size();
            memory_.clear();
        }
    }
    if (gap_.pending() && spool_) place_gap_notice();
}

void stream_sink::spill_to_spool() {
    if (!spool_ || memory_.empty()) return;
    if (spool_->prepend(memory_)) {
        counters_.spooled += memory_.size();
        memory_.clear();
    } else {
        diag(name_ + ": cannot write to the spool in " + spool_->directory());
    }
}

void stream_sink::close_transport() noexcept {
    ++generation_;
    writing_ = false;
    in_flight_ = 0;
    in_flight_sizes_.clear();
    boost::system::error_code ignored;
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
    const auto gen = generation_;
    const std::weak_ptr<char> alive = alive_;
    ++outstanding_;
    timer_.expires_after(s_.connect_timeout);
    timer_.async_wait([this, alive, gen](const boost::system::error_code& ec) {
        if (alive.expired()) return;
        --outstanding_;
        if (ec || gen != generation_ || state_ != state::connecting) return;
        connect_failed("connect", asio::error::timed_out);
    });
    ++outstanding_;
    resolver_.async_resolve(
        s_.endpoint.host, std::to_string(s_.endpoint.port),
        [this, alive, gen](const boost::system::error_code& ec,
                           tcp::resolver::results_type results) {
            if (alive.expired()) return;
            --outstanding_;
            if (gen != generation_) return;
            if (ec) return connect_failed("resolve " + s_.endpoint.host, ec);
            if (s_.tls) {
                tls_ = std::make_shared<asio::ssl::stream<tcp::socket>>(io_, *ssl_);
            } else {
                socket_ = std::make_shared<tcp::socket>(io_);
            }
            std::shared_ptr<void> keep = tls_ ? std::shared_ptr<void>(tls_) : socket_;
            ++outstanding_;
            asio::async_connect(
                tcp_socket(), results,
                [this, alive, gen, keep](const boost::system::error_code& cec,
                                         const tcp::endpoint&) {
                    if (alive.expired()) return;
                    --outstanding_;
                    if (gen != generation_) return;
                    if (cec) return connect_failed("connect", cec);
                    if (!s_.tls) return on_connected();
                    const auto& host = s_.endpoint.host;
                    if (!is_ip_literal(host)) {
                        // SNI (SSL_set_tlsext_host_name is a macro with a C cast).
                        ::SSL_ctrl(tls_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                                   TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str()));
                    }
                    tls_->set_verify_callback(asio::ssl::host_name_verification(host));
                    ++outstanding_;
                    tls_->async_handshake(
                        asio::ssl::stream_base::client,
                        [this, alive, gen, keep](const boost::system::error_code& hec) {
                            if (alive.expired()) return;
                            --outstanding_;
                            if (gen != generation_) return;
                            if (hec) return connect_failed("TLS handshake", hec);
                            on_connected();
                        });
                });
        });
}

void stream_sink::connect_failed(const std::string& what, const boost::system::error_code& ec) {
    close_transport();
    state_ = state::waiting;
    ++failures_;
    const auto delay = backoff_.next();
    diag(name_ + ": " + what + ": " + ec.message() + "; retrying in " +
         std::to_string(delay.count()) + " ms");
    spill_to_spool();
    const auto gen = generation_;
    const std::weak_ptr<char> alive = alive_;
    ++outstanding_;
    timer_.expires_after(delay);
    timer_.async_wait([this, alive, gen](const boost::system::error_code& tec) {
        if (alive.expired()) return;
        --outstanding_;
        if (tec || gen != generation_ || state_ != state::waiting) return;
        start_connect();
    });
}

void stream_sink::on_connected() {
    timer_.cancel();
    state_ = state::connected;
    backoff_.reset();
    failures_ = 0;
    written_.clear();
    written_bytes_ = 0;
    diag(name_ + ": connected");
    kick();
}

void stream_sink::connection_lost(const std::string& what, bool orderly) {
    std::size_t resend = written_bytes_;
    if (orderly && !s_.tls && socket_) {
        // The peer closed in order (FIN: its receive buffer was empty), so it read everything
        // its TCP acknowledged; the unacknowledged bytes are lost with the connection, and the
        // frame it was reading when it stopped may be cut: that one goes again too (+1 byte
        // reaches back into it).
        int unacked = 0;
        if (::ioctl(socket_->native_handle(), SIOCOUTQ, &unacked) == 0 && unacked >= 0) {
            resend = static_cast<std::size_t>(unacked) + 1;
        }
    }
    std::deque<queued_record> again;
    std::size_t covered = 0;
    while (covered < resend && !written_.empty()) {
        covered += written_.back().wire_bytes;
        again.push_front(std::move(written_.back().record));
        written_.pop_back();
    }
    counters_.resent += again.size() + in_flight_;
    memory_.insert(memory_.begin(), std::make_move_iterator(again.begin()),
                   std::make_move_iterator(again.end()));
    written_.clear();
    written_bytes_ = 0;
    diag(name_ + ": connection lost (" + what + "); sending the last " +
         std::to_string(again.size() + in_flight_) + " records again after reconnecting");
    connect_failed("connection", orderly
                                     ? boost::system::error_code(asio::error::eof)
                                     : boost::system::error_code(asio::error::connection_reset));
}

bool stream_sink::peer_alive(bool& orderly) {
    const int fd = tcp_socket().native_handle();
    for (;;) {
        pollfd p{fd, POLLIN | POLLRDHUP, 0};
        if (::poll(&p, 1, 0) <= 0) return true;
        if ((p.revents & (POLLERR | POLLHUP)) != 0) {
            orderly = false;
            return false;
        }
        if ((p.revents & POLLRDHUP) != 0) {
            orderly = true;
            return false;
        }
        if ((p.revents & POLLIN) == 0 || s_.tls) return true;  // TLS: session tickets, alerts
        // A syslog receiver sends nothing on plain TCP; read and drop whatever it sent.
        char buf[4096];
        const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0) {
            orderly = true;
            return false;
        }
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
}

void stream_sink::load_spool() {
    auto loaded = spool_->load_head();
    for (auto& r : loaded.records) memory_.push_back(std::move(r));
    if (loaded.damaged_bytes != 0) {
        counters_.spool_damaged += loaded.damaged_bytes;
        const std::string text = "klogd: missed kernel messages: spool file " + loaded.file +
                                 " damaged, " + std::to_string(loaded.damaged_bytes) +
                                 " bytes unreadable";
        diag(name_ + ": " + text);
        memory_.push_back({format_notice(*notice_format_, text), std::nullopt});
    }
}

void stream_sink::kick() {
    if (state_ != state::connected || writing_) return;
    if (memory_.empty() && !draining_ && spool_ && !spool_->empty()) load_spool();
    if (memory_.empty()) return;
    bool orderly = false;
    if (!peer_alive(orderly)) {
        connection_lost(orderly ? "closed by the peer" : "reset by the peer", orderly);
        return;
    }
    wire_.clear();
    in_flight_sizes_.clear();
    in_flight_ = 0;
    while (in_flight_ < memory_.size() && in_flight_ < batch_records &&
           wire_.size() < batch_bytes) {
        in_flight_sizes_.push_back(append_frame(s_.framing, memory_[in_flight_].bytes, wire_));
        ++in_flight_;
    }
    writing_ = true;
    const auto gen = generation_;
    const std::weak_ptr<char> alive = alive_;
    std::shared_ptr<void> keep = tls_ ? std::shared_ptr<void>(tls_) : socket_;
    auto done = [this, alive, gen, keep](const boost::system::error_code& ec, std::size_t) {
        if (alive.expired()) return;
        --outstanding_;
        if (gen != generation_) return;
        writing_ = false;
        if (ec) return connection_lost("write: " + ec.message(), false);
        for (std::size_t i = 0; i < in_flight_; ++i) {
            written_.push_back({std::move(memory_.front()), in_flight_sizes_[i]});
            written_bytes_ += in_flight_sizes_[i];
            memory_.pop_front();
        }
        counters_.sent += in_flight_;
        in_flight_ = 0;
        while (written_bytes_ > s_.resend_window && !written_.empty()) {
            written_bytes_ -= written_.front().wire_bytes;
            written_.pop_front();
        }
        kick();
    };
    ++outstanding_;
    if (tls_) {
        asio::async_write(*tls_, asio::buffer(wire_), std::move(done));
    } else {
        asio::async_write(*socket_, asio::buffer(wire_), std::move(done));
    }
}

}  // namespace klog::sinks
