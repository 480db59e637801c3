#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <functional>
#include <string>

namespace klog {
class pipeline;
}

namespace klogd {

class read_loop;
class symbol_stage;

/// The daemon's signals, acted on at once through the io_context (not after the next kernel
/// message): TERM/INT stop, HUP reopens the outputs, TSTP/CONT suspend and resume reading,
/// USR1/USR2 reload module/all symbols. Each action is said with -d.
class signal_actions {
  public:
    struct actions {
        std::function<void()> stop;
        std::function<void()> reopen_outputs;
        std::function<void()> suspend;
        std::function<void()> resume;
        /// Reloads module symbols (false) or all (true); empty: no address resolution (-x).
        std::function<void(bool all)> reload;
    };

    /// The daemon's actions: HUP flushes and reopens the pipeline's outputs, TSTP/CONT suspend
    /// and resume `loop`, USR1/USR2 reload `symbols` (null: -x); what waits then goes out.
    static actions for_daemon(klog::pipeline& pipeline, read_loop& loop, symbol_stage* symbols,
                              std::function<void()> stop);

    /// From process start until the daemon's handlers are in place: HUP, USR1, USR2 and TSTP
    /// (whose default ends or stops the process) are blocked, so that one sent meanwhile (a
    /// logrotate's HUP at boot) waits for the handlers instead of ending klogd. TERM and INT
    /// keep their default (nothing is read yet: stopping at once loses nothing). The
    /// constructor below lets them through; `release_held()` does for -o, which keeps the
    /// defaults.
    static void hold_until_handled() noexcept;
    static void release_held() noexcept;

    /// Takes the signals at once (from now on they wait for start() instead of acting).
    signal_actions(boost::asio::io_context& io, std::function<void(const std::string&)> diag,
                   actions a);
    /// Starts acting on the signals (until cancel()).
    void start();
    void cancel();

  private:
    void wait();

    boost::asio::signal_set signals_;
    bool arrival_order_ = false;  ///< TSTP and CONT are noted as they come (see the .cpp)
    std::function<void(const std::string&)> diag_;
    actions actions_;
};

}  // namespace klogd
