#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "klog/incidents/incident_directory.hpp"
#include "klog/incidents/incident_stage.hpp"
#include "klog/pipeline.hpp"
#include "klogd/config.hpp"

namespace klogd {

/// Incidents: the stage the pipeline feeds, their report (a record of klogd's in every output,
/// a line with -d, a JSON file in --incident-dir), and the timer that closes the blocks whose
/// end line never came.
class incident_reporter {
  public:
    using diag_fn = std::function<void(const std::string&)>;

    /// `boot_id` is read when an incident is written (the application sets it at its open).
    incident_reporter(boost::asio::io_context& io, const config& cfg, const std::string& boot_id,
                      diag_fn diag);

    /// Makes --incident-dir (given to --user when klogd made it; throws std::system_error
    /// naming it) and gives the stage to `pipeline`, which reports through `report`.
    void open(klog::pipeline& pipeline);
    void report(const klog::incidents::incident& incident);
    /// While blocks are open or repeats wait to be said: once a second, expire them, then call
    /// `after` (the application writes out what the expiry reported).
    void arm(std::function<void()> after);
    void stop();

    [[nodiscard]] klog::incidents::incident_stage* stage() noexcept { return stage_.get(); }
    [[nodiscard]] const klog::incidents::incident_stage* stage() const noexcept {
        return stage_.get();
    }

  private:
    const config& cfg_;
    const std::string& boot_id_;
    diag_fn diag_;
    boost::asio::steady_timer timer_;
    klog::pipeline* pipeline_ = nullptr;
    std::unique_ptr<klog::incidents::incident_stage> stage_;
    std::optional<klog::incidents::incident_directory> dir_;
    bool armed_ = false;
    bool stopped_ = false;
};

}  // namespace klogd
