#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "klog/metrics/rule_set.hpp"
#include "klog/pipeline.hpp"
#include "klogd/config.hpp"
#include "klogd/incident_reporter.hpp"
#include "klogd/metrics_exporter.hpp"
#include "klogd/module_events.hpp"
#include "klogd/lifecycle.hpp"
#include "klogd/pstore_delivery.hpp"
#include "klogd/read_loop.hpp"
#include "klogd/signal_actions.hpp"
#include "klogd/symbol_stage.hpp"

namespace klogd {

/// Wires a validated config into a source, the pipeline and its outputs, and runs them: once
/// (`-o`) or as the daemon. Everything runs on one io_context on the calling thread; signals
/// arrive through a signal_set and act at once, not after the next kernel message.
///
/// The parts: open_outputs (outputs.hpp) makes the outputs, read_loop reads the source into the
/// pipeline and keeps delivery going (pauses, retries, fsync, the cursor), symbol_stage
/// resolves addresses, incident_reporter and pstore_delivery report kernel trouble,
/// metrics_exporter serves the counters, signal_actions and lifecycle are the daemon's life.
/// `-o` waits until every output has everything (or none makes progress for
/// `--flush-timeout`) and exits 0 only if every record reached every output.
class application {
  public:
    explicit application(config cfg);
    ~application();
    application(const application&) = delete;
    application& operator=(const application&) = delete;

    /// Opens the outputs and the source (throws std::system_error naming the path on failure),
    /// so that errors reach the terminal before anything is started.
    void open();

    /// Runs as configured (after open()); returns the exit status.
    int run();

    [[nodiscard]] const klog::pipeline& pipeline() const noexcept { return *pipeline_; }

  private:
    int run_once();
    int run_daemon();
    void stop(int status);
    /// The end of a run: the open incident block reported, what the outputs hold given
    /// `quiet` without progress to go out, the outputs closed, the daemon's cursor, pstore
    /// archive and metrics file written, the summary said. False: some record did not reach
    /// some output.
    bool finish(std::chrono::milliseconds quiet);
    [[nodiscard]] read_loop::diag_fn diag_fn();

    config cfg_;
    boost::asio::io_context io_;
    metrics_exporter metrics_;
    pstore_delivery pstore_;  ///< the previous boot's log
    incident_reporter incidents_;
    lifecycle lifecycle_;
    std::unique_ptr<klog::metrics::rule_set> rules_;
    std::unique_ptr<klog::pipeline> pipeline_;
    std::unique_ptr<read_loop> loop_;
    std::vector<std::string> output_keys_;  ///< the state file's name of each output
    std::unique_ptr<symbol_stage> symbols_;
    std::unique_ptr<module_events> module_events_;
    std::optional<signal_actions> signals_;
    std::string boot_id_;
    double start_time_seconds_ =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    bool stopping_ = false;
    int exit_status_ = 0;
};

}  // namespace klogd
