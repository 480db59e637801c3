#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <memory>
#include <string>

#include "klog/pipeline.hpp"
#include "klog/sources/source.hpp"
#include "klogd/config.hpp"

namespace klogd {

/// Wires a validated config into sources, pipeline and outputs, and runs them: once (`-o`) or
/// until TERM/INT. Everything runs on one io_context on the calling thread.
class application {
public:
    explicit application(config cfg);
    ~application();
    application(const application&) = delete;
    application& operator=(const application&) = delete;

    /// Opens the source and the outputs (throws std::system_error naming the path on failure),
    /// so that errors reach the terminal before anything is started.
    void open();

    /// One-shot (`-o`): delivers what the kernel holds now, then returns the exit status.
    int run_once();

    /// Live: reads until TERM/INT; returns the exit status.
    int run_live();

    [[nodiscard]] const klog::pipeline& pipeline() const noexcept { return *pipeline_; }

private:
    std::unique_ptr<klog::sources::source> open_source();
    std::vector<klog::output> open_outputs();
    void wait_for_records();
    void drain();
    void stop();
    void diag(const std::string& message) const;

    config cfg_;
    boost::asio::io_context io_;
    boost::asio::signal_set stop_signals_;
    boost::asio::signal_set hup_signal_;
    std::unique_ptr<klog::sources::source> source_;
    std::unique_ptr<klog::pipeline> pipeline_;
    bool syscall_one_shot_ = false;
    int exit_status_ = 0;
};

}  // namespace klogd
