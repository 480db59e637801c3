#pragma once

#include <utility>  // before Asio (DESIGN.md, Boost 1.74 notes)

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace klog::metrics {

/// `--metrics=ADDR:PORT`: a small HTTP/1.1 server on the application's io_context (Boost.Beast)
/// that answers `GET /metrics` with the exposition and `GET /` with a pointer to it; anything
/// else is 404 (another path) or 405 (another method). Each connection serves one request and
/// is closed; at most `max_connections` at once (more are closed at once), requests bounded to
/// 8 KiB of header and no body, 10 s to send one.
class http_server {
  public:
    using body_fn = std::function<std::string()>;

    http_server(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& at,
                body_fn metrics, std::size_t max_connections = 16);
    ~http_server();
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;

    [[nodiscard]] boost::asio::ip::tcp::endpoint local_endpoint() const;
    [[nodiscard]] std::uint64_t requests() const noexcept;

    struct state;

  private:
    std::shared_ptr<state> state_;
};

}  // namespace klog::metrics
