#include "klogd/metrics_exporter.hpp"

#include <boost/asio/ip/address.hpp>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "klog/os/os.hpp"

namespace klogd {

metrics_exporter::metrics_exporter(boost::asio::io_context& io, const config& cfg,
                                   render_fn render, diag_fn diag)
    : io_(io), cfg_(cfg), render_(std::move(render)), diag_(std::move(diag)), timer_(io) {}

void metrics_exporter::start() {
    if (cfg_.metrics_address) {
        const boost::asio::ip::tcp::endpoint at(boost::asio::ip::make_address(*cfg_.metrics_address),
                                                cfg_.metrics_port);
        try {
            server_ = std::make_unique<klog::metrics::http_server>(io_, at, render_);
        } catch (const boost::system::system_error& e) {
            throw std::system_error(e.code(), "--metrics: cannot listen on " +
                                                  *cfg_.metrics_address + " port " +
                                                  std::to_string(cfg_.metrics_port));
        }
        diag_("metrics on http://" + at.address().to_string() + ":" +
              std::to_string(server_->local_endpoint().port()) + "/metrics");
    }
    if (cfg_.metrics_file) {
        write_file();
        arm();
    }
}

void metrics_exporter::stop() {
    stopped_ = true;
    timer_.cancel();
}

void metrics_exporter::close() { server_.reset(); }

void metrics_exporter::arm() {
    timer_.expires_after(cfg_.metrics_interval);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopped_) return;
        write_file();
        arm();
    });
}

void metrics_exporter::write_file() const {
    if (!cfg_.metrics_file) return;
    // node_exporter reads *.prom files: the temporary name must not end so.
    const auto& path = *cfg_.metrics_file;
    const std::filesystem::path p(path);
    // (Built by appending: GCC 12 at -O3 warns wrongly about `"." + std::string` here.)
    std::string name(".");
    name += p.filename().string();
    name += ".tmp";
    const auto tmp = (p.parent_path() / name).string();
    const auto text = render_();
    std::error_code ec;
    // A scrape between two writes sees the old file or the new one; a crash costs nothing (it
    // is written again within the interval): no fsync.
    klog::os::replace_file(path, text,
                           {.mode = 0644, .durable = klog::os::durability::none, .temporary = tmp},
                           ec);
    if (ec) std::cerr << "klogd: --metrics-file " << path << ": " << ec.message() << '\n';
}

}  // namespace klogd
