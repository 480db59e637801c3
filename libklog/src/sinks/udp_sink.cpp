#include "klog/sinks/udp_sink.hpp"

namespace klog::sinks {

namespace asio = boost::asio;
using asio::ip::udp;

udp_sink::udp_sink(asio::io_context& io, settings s,
                   std::unique_ptr<formatters::formatter> notice_format, diagnostics_fn diagnostics)
    : io_(io),
      s_(std::move(s)),
      name_("udp://" + s_.endpoint.to_string()),
      notice_format_(std::move(notice_format)),
      diag_(std::move(diagnostics)),
      resolver_(io),
      timer_(io) {
    resolve();
}

udp_sink::~udp_sink() {
    try {
        flush();
        if (!memory_.empty()) {
            diag(name_ + ": " + std::to_string(memory_.size()) + " datagrams not sent at exit");
            counters_.dropped += memory_.size();
        }
        timer_.cancel();
        resolver_.cancel();
        boost::system::error_code ignored;
        if (socket_) socket_->close(ignored);
        if (io_.stopped()) io_.restart();
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        while (outstanding_ > 0 && std::chrono::steady_clock::now() < deadline) {
            if (io_.run_one_until(deadline) == 0) break;
        }
    } catch (...) {
        // Destructors never throw.
    }
}

void udp_sink::diag(const std::string& message) const {
    if (diag_) diag_(message);
}

network_counters udp_sink::counters() const {
    auto c = counters_;
    c.queued = memory_.size();
    return c;
}

void udp_sink::resolve() {
    const std::weak_ptr<char> alive = alive_;
    ++outstanding_;
    resolver_.async_resolve(
        s_.endpoint.host, std::to_string(s_.endpoint.port),
        [this, alive](const boost::system::error_code& ec, udp::resolver::results_type results) {
            if (alive.expired()) return;
            --outstanding_;
            boost::system::error_code cec = ec;
            if (!cec && !results.empty()) {
                const auto target = results.begin()->endpoint();
                socket_ = std::make_shared<udp::socket>(io_);
                socket_->open(target.protocol(), cec);
                if (!cec) socket_->connect(target, cec);
            }
            if (cec || results.empty()) {
                diag(name_ + ": cannot resolve or connect: " + cec.message() + "; retrying");
                ++outstanding_;
                timer_.expires_after(s_.retry_resolve);
                timer_.async_wait([this, alive](const boost::system::error_code& tec) {
                    if (alive.expired()) return;
                    --outstanding_;
                    if (!tec) resolve();
                });
                return;
            }
            ready_ = true;
            diag(name_ + ": sending");
            kick();
        });
}

void udp_sink::write(std::string_view bytes, const record_view& record) {
    if (!bytes.empty() && bytes.back() == '\n') bytes.remove_suffix(1);
    if (memory_.size() >= s_.queue_max) {
        if (!gap_.pending()) diag(name_ + ": queue full: dropping records");
        gap_.add(record.seq);
        ++counters_.dropped;
        return;
    }
    if (gap_.pending()) {
        memory_.push_back({format_notice(*notice_format_, gap_.notice()), std::nullopt});
        gap_.clear();
    }
    memory_.push_back({std::string(bytes), record.seq});
    kick();
}

void udp_sink::kick() {
    if (!ready_ || sending_ || memory_.empty()) return;
    sending_ = true;
    const std::weak_ptr<char> alive = alive_;
    auto keep = socket_;
    ++outstanding_;
    socket_->async_send(asio::buffer(memory_.front().bytes),
                        [this, alive, keep](const boost::system::error_code& ec, std::size_t) {
                            if (alive.expired()) return;
                            --outstanding_;
                            sending_ = false;
                            if (ec == asio::error::operation_aborted) return;
                            if (ec && !retried_) {
                                retried_ =
                                    true;  // the error may belong to an earlier datagram: once more
                            } else {
                                if (ec) {
                                    ++counters_.dropped;
                                    diag(name_ + ": " + ec.message() + ": datagram dropped");
                                } else {
                                    ++counters_.sent;
                                }
                                retried_ = false;
                                memory_.pop_front();
                            }
                            kick();
                        });
}

void udp_sink::flush() {
    kick();
    if (io_.get_executor().running_in_this_thread()) return;
    if (io_.stopped()) io_.restart();
    const auto deadline = std::chrono::steady_clock::now() + s_.shutdown_timeout;
    while (!memory_.empty() && std::chrono::steady_clock::now() < deadline) {
        kick();
        if (io_.run_one_until(deadline) == 0) break;
    }
}

void udp_sink::reopen() {}

}  // namespace klog::sinks
