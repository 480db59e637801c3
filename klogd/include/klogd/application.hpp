#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "klog/metrics/rule_set.hpp"
#include "klog/pipeline.hpp"
#include "klog/sources/source.hpp"
#include "klogd/config.hpp"
#include "klogd/delivery_cursor.hpp"
#include "klogd/incident_reporter.hpp"
#include "klogd/metrics_exporter.hpp"
#include "klogd/pidfile.hpp"
#include "klogd/pstore_delivery.hpp"
#include "klogd/module_events.hpp"
#include "klogd/symbol_stage.hpp"

namespace klogd {

/// Wires a validated config into a source, the pipeline and its outputs, and runs them: once
/// (`-o`) or as the daemon. Everything runs on one io_context on the calling thread; signals
/// arrive through a signal_set and act at once, not after the next kernel message.
///
/// Delivery (DESIGN.md): the kernel is read only while no `block` output is full (the ring is
/// the buffer); outputs report progress (room made, records acknowledged) and reading resumes.
/// The cursor saved after every batch holds each output's durable watermark. `-o` waits until
/// every output has everything (or none makes progress for `--flush-timeout`) and exits 0 only
/// if every record reached every output.
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
    using clock = std::chrono::steady_clock;

    int run_once();
    int run_daemon();
    std::unique_ptr<klog::sources::source> open_source();
    std::vector<std::unique_ptr<klog::sinks::sink>> open_outputs();
    void set_console_level();
    void open_symbols();
    void watch_signals();
    void wait_for_records();
    /// One batch from the source into the pipeline; a read error is reported, sets `failed`
    /// and ends reading.
    klog::sources::read_status read_once(bool& failed);
    /// Reads until drained, the end, or a full output (then paused until progress).
    void drain();
    void start_cursor();
    void begin_cursor();
    /// --user: the spools become the user's before privileges go.
    void prepare_for_user();
    /// The source gave at least one record (or said it lost some) since the start.
    [[nodiscard]] bool kernel_gave_records() const;
    /// `clean`: at a clean stop (everything written is in the saved positions).
    void save_cursor(bool durable = false, bool clean = false);
    /// End of a batch: outputs write out, the cursor is saved, timers armed as needed.
    void flush_outputs();
    /// An output made room or moved its watermark (called from its handlers).
    void on_progress();
    void resume_reading();
    /// Outputs whose cursor is past the kernel's newest record get the whole ring: true when the
    /// source was reopened for that.
    bool restart_ahead_outputs();
    void check_ahead_later(int rounds = 0);
    void arm_retry();
    void arm_fsync();
    /// The exposition --metrics serves and --metrics-file holds.
    [[nodiscard]] std::string render_metrics() const;
    void sync_outputs();
    /// Runs the io_context until every output is idle, or none made progress for `quiet`.
    bool settle(std::chrono::milliseconds quiet);
    /// Runs the io_context until no `block` output is full, or no progress for `quiet`.
    bool wait_unblocked(std::chrono::milliseconds quiet);
    /// Ends every output's connection cleanly (bounded).
    void close_outputs();
    /// One line per output that lacks records (and what is held in spools); false when some
    /// record did not reach some output.
    bool report_delivery(bool one_shot) const;
    [[nodiscard]] bool output_broken() const;
    void suspend();
    void resume();
    void stop(int status);
    void diag(const std::string& message) const;
    void report_counters() const;

    config cfg_;
    boost::asio::io_context io_;
    boost::asio::signal_set signals_;
    boost::asio::steady_timer retry_timer_;
    boost::asio::steady_timer fsync_timer_;
    boost::asio::steady_timer ahead_timer_;
    metrics_exporter metrics_;
    pstore_delivery pstore_;  ///< the previous boot's log
    incident_reporter incidents_;
    std::unique_ptr<klog::metrics::rule_set> rules_;
    double start_time_seconds_ = 0;
    bool retry_armed_ = false;
    bool fsync_armed_ = false;
    bool progress_posted_ = false;
    bool paused_ = false;        ///< not reading: an output is full
    bool daemon_mode_ = false;
    clock::time_point last_progress_{};
    std::unique_ptr<klog::sources::source> source_;
    std::unique_ptr<klog::pipeline> pipeline_;
    std::vector<std::string> output_keys_;  ///< the state file's name of each output
    std::unique_ptr<symbol_stage> symbols_;
    std::unique_ptr<module_events> module_events_;
    void watch_modules();
    std::optional<klogd::pidfile> pidfile_;
    std::optional<delivery_cursor> cursor_;  ///< /dev/kmsg only, daemon only
    std::string boot_id_;
    bool has_sequence_numbers_ = false;  ///< the source is /dev/kmsg (or its stand-in)
    bool syscall_one_shot_ = false;
    bool suspended_ = false;
    bool stopping_ = false;
    bool gave_up_reading_ = false;
    bool session_checked_ = false;  ///< cursors compared with the kernel's newest record
    bool drain_posted_ = false;     ///< the rest of a long backlog is read in a handler
    int batches_in_a_row_ = 0;
    int exit_status_ = 0;
};

}  // namespace klogd
