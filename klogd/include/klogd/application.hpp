#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>

#include "klog/cursor_file.hpp"
#include "klog/pipeline.hpp"
#include "klog/sources/source.hpp"
#include "klogd/config.hpp"
#include "klogd/pidfile.hpp"
#include "klogd/symbol_stage.hpp"

namespace klogd {

/// Wires a validated config into a source, the pipeline and its outputs, and runs them: once
/// (`-o`) or as the daemon. Everything runs on one io_context on the calling thread; signals
/// arrive through a signal_set and act at once, not after the next kernel message.
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
    std::unique_ptr<klog::sources::source> open_source();
    std::unique_ptr<klog::sources::source> open_kmsg(const std::string& path, bool explicit_path);
    std::vector<klog::output> open_outputs();
    void set_console_level();
    void open_symbols();
    void watch_signals();
    void wait_for_records();
    /// One batch from the source into the pipeline; a read error is reported, sets `failed`
    /// and ends reading.
    klog::sources::read_status read_once(bool& failed);
    void drain();
    void start_cursor();
    void save_cursor();
    void flush_outputs();
    void suspend();
    void resume();
    void stop(int status);
    void diag(const std::string& message) const;
    void report_counters() const;

    config cfg_;
    boost::asio::io_context io_;
    boost::asio::signal_set signals_;
    boost::asio::steady_timer retry_timer_;
    bool retry_armed_ = false;
    std::unique_ptr<klog::sources::source> source_;
    std::unique_ptr<klog::pipeline> pipeline_;
    std::unique_ptr<symbol_stage> symbols_;
    std::optional<klogd::pidfile> pidfile_;
    std::optional<klog::cursor_file> cursor_;  ///< /dev/kmsg only, daemon only
    std::string boot_id_;
    bool cursor_error_said_ = false;
    bool has_sequence_numbers_ = false;  ///< the source is /dev/kmsg (or its stand-in)
    bool syscall_one_shot_ = false;
    bool suspended_ = false;
    bool stopping_ = false;
    int exit_status_ = 0;
};

}  // namespace klogd
