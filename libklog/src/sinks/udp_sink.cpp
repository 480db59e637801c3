#include "klog/sinks/udp_sink.hpp"

#include "klog/os/os.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace klog::sinks {

namespace asio = boost::asio;
using asio::ip::udp;

udp_sink::udp_sink(asio::io_context& io, settings s, std::unique_ptr<formatters::formatter> format,
                   when_full mode, diagnostics_fn diagnostics)
    : sink("udp://" + s.endpoint.to_string(), std::move(format), mode),
      io_(io),
      s_(std::move(s)),
      resolver_(io),
      timer_(io),
      queue_(delivery_queue::limits{s_.queue_max, 16ULL << 20, 0, 0, 0}) {
    set_diagnostics(std::move(diagnostics));
    resolve();
}

udp_sink::~udp_sink() { close(); }

void udp_sink::close() {
    timer_.cancel();
    resolver_.cancel();
    boost::system::error_code ignored;
    if (socket_) socket_->close(ignored);
    ready_ = false;
}

void udp_sink::resolve() {
    const std::weak_ptr<char> alive = alive_;
    resolver_.async_resolve(
        s_.endpoint.host, std::to_string(s_.endpoint.port),
        [this, alive](const boost::system::error_code& ec, udp::resolver::results_type results) {
            if (alive.expired() || ec == asio::error::operation_aborted) return;
            boost::system::error_code cec = ec;
            if (!cec && !results.empty()) {
                const auto target = results.begin()->endpoint();
                socket_ = std::make_shared<udp::socket>(io_);
                socket_->open(target.protocol(), cec);
                if (!cec) socket_->connect(target, cec);
            }
            if (cec || results.empty()) {
                diag(name() + ": cannot resolve or connect: " + cec.message() + "; retrying");
                timer_.expires_after(s_.retry_resolve);
                timer_.async_wait([this, alive](const boost::system::error_code& tec) {
                    if (alive.expired()) return;
                    if (!tec) resolve();
                });
                return;
            }
            ready_ = true;
            diag(name() + ": sending");
            kick();
        });
}

void udp_sink::put(std::string_view bytes, const record_meta& meta) {
    if (!bytes.empty() && bytes.back() == '\n') bytes.remove_suffix(1);
    if (failed_.pending()) {
        queue_.push(format_notice(failed_.notice()), meta);
        failed_.clear();
    }
    queue_.push(bytes, meta);
    kick();
}

void udp_sink::kick() {
    // Datagrams go out at once, as long as the socket takes them; only a full socket buffer
    // is waited for (a backlog must not pile up behind one send per handler).
    if (!ready_ || sending_) return;
    const bool was_full = full();
    bool progressed = false;
    while (queue_.ready() != 0) {
        const auto& datagram = queue_.unsent(0).bytes;
        std::error_code error;
        os::send(socket_->native_handle(), datagram.data(), datagram.size(),
                 MSG_DONTWAIT | MSG_NOSIGNAL, error);
        if (error == std::errc::resource_unavailable_try_again ||
            error == std::errc::no_buffer_space) {
            // A full socket: until it is writable again. ENOBUFS (no memory, a full device
            // queue) leaves the socket writable, so waiting for it would spin: a timer.
            sending_ = true;
            const std::weak_ptr<char> alive = alive_;
            auto keep = socket_;
            const auto go_on = [this, alive, keep](const boost::system::error_code& ec) {
                if (alive.expired()) return;
                sending_ = false;
                if (ec == asio::error::operation_aborted) return;
                kick();
            };
            if (error == std::errc::no_buffer_space) {
                timer_.expires_after(s_.retry_busy);
                timer_.async_wait(go_on);
            } else {
                socket_->async_wait(udp::socket::wait_write, go_on);
            }
            break;
        }
        if (error && !retried_) {
            retried_ = true;  // the error may belong to an earlier datagram: once more
            continue;
        }
        if (error) {
            ++counters_.dropped;
            failed_.add(queue_.unsent(0).meta.seq);
            diag(name() + ": " + error.message() + ": datagram dropped");
        } else {
            ++counters_.written;
        }
        retried_ = false;
        // Sent (or given up and reported): done with it.
        queue_.mark_sent(1, ++sends_);
        queue_.acknowledge(sends_);
        progressed = true;
    }
    if (progressed && (was_full || queue_.idle())) progress();
}

}  // namespace klog::sinks
