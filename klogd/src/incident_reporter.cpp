#include "klogd/incident_reporter.hpp"

#include <filesystem>
#include <iostream>
#include <system_error>

#include "klog/formatters/text_escaper.hpp"
#include "klog/os/os.hpp"

namespace klogd {

incident_reporter::incident_reporter(boost::asio::io_context& io, const config& cfg,
                                     const std::string& boot_id, diag_fn diag)
    : cfg_(cfg), boot_id_(boot_id), diag_(std::move(diag)), timer_(io) {}

void incident_reporter::open(klog::pipeline& pipeline) {
    pipeline_ = &pipeline;
    stage_ = std::make_unique<klog::incidents::incident_stage>(
        [this](const klog::incidents::incident& i) { report(i); });
    pipeline.set_incidents(stage_.get());
    if (cfg_.incident_dir) {
        std::error_code ec;
        const bool made = std::filesystem::create_directories(*cfg_.incident_dir, ec);
        if (ec) {
            throw std::system_error(ec, "--incident-dir: cannot create " + *cfg_.incident_dir);
        }
        // Made for --user, as the state directory is: written after privileges are dropped.
        if (made && cfg_.user_id && cfg_.group_id) {
            klog::os::change_owner(*cfg_.incident_dir, *cfg_.user_id, *cfg_.group_id, ec, true);
            if (ec) {
                throw std::system_error(ec, "--incident-dir: cannot give " + *cfg_.incident_dir +
                                                " to " + *cfg_.user);
            }
        }
        dir_.emplace(*cfg_.incident_dir);
    }
}

void incident_reporter::report(const klog::incidents::incident& incident) {
    pipeline_->report_incident(incident);
    if (cfg_.debug) {
        std::string line;  // kernel text on a terminal: escaped, as in every line format
        klog::formatters::text_escaper::append(line, incident.summary());
        diag_(line);
    }
    if (!dir_ || incident.repeat) return;
    try {
        const auto path = dir_->write(incident, boot_id_,
                                      pipeline_->clock().time_for(std::nullopt, false).wall_usec);
        diag_("incident written to " + path);
    } catch (const std::system_error& e) {
        std::cerr << "klogd: --incident-dir: " << e.what() << '\n';
    }
}

void incident_reporter::arm(std::function<void()> after) {
    if (armed_ || stopped_ || !stage_ || !stage_->busy()) return;
    // A block without its end line (a hung task of an older kernel) closes when nothing more
    // comes for it; a repeat only counted is said a minute later.
    armed_ = true;
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([this, after = std::move(after)](const boost::system::error_code& ec) {
        armed_ = false;
        if (ec || stopped_) return;
        stage_->expire();
        after();
    });
}

void incident_reporter::stop() {
    stopped_ = true;
    timer_.cancel();
}

}  // namespace klogd
