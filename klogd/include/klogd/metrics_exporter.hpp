#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>

#include "klog/metrics/http_server.hpp"
#include "klogd/config.hpp"

namespace klogd {

/// --metrics and --metrics-file: the exposition `render` makes, served over HTTP and written to
/// a file every --metrics-interval (atomically: a scrape sees the old file or the new one).
class metrics_exporter {
  public:
    using render_fn = std::function<std::string()>;
    using diag_fn = std::function<void(const std::string&)>;

    metrics_exporter(boost::asio::io_context& io, const config& cfg, render_fn render, diag_fn diag);

    /// Listens (throws std::system_error naming --metrics and the address when it cannot) and
    /// writes the file once, then every interval. Call before privileges go: a port below 1024.
    void start();
    /// No more writes on the timer (the daemon is stopping; the server still answers).
    void stop();
    /// The server stops listening.
    void close();
    /// Writes --metrics-file now (a failure is said on standard error; it is written again at
    /// the next interval).
    void write_file() const;

  private:
    void arm();

    boost::asio::io_context& io_;
    const config& cfg_;
    render_fn render_;
    diag_fn diag_;
    boost::asio::steady_timer timer_;
    std::unique_ptr<klog::metrics::http_server> server_;
    bool stopped_ = false;
};

}  // namespace klogd
