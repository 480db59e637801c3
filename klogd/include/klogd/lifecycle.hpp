#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <optional>
#include <string>

#include "klog/pipeline.hpp"
#include "klogd/config.hpp"
#include "klogd/pidfile.hpp"

namespace klogd {

/// The daemon's life as a process around its event loop, in the order it must happen: the
/// state directory given to --user before anything is made in it, the outputs' files given
/// too, the pid file taken before detaching (so that "already running" reaches the terminal),
/// detaching unless -n, the pid written, what needs privileges (a metrics port below 1024)
/// done, privileges dropped; then "ready" to the waiting parent and the service manager, and
/// at the end "stopping" and the pid file removed. daemon.hpp has the single steps.
class lifecycle {
  public:
    explicit lifecycle(const config& cfg) : cfg_(cfg) {}

    /// --user: the state directory (and the spools beside the state file) become the user's.
    /// Throws std::system_error naming --state-file (daemon::hand_over_state_directory).
    void prepare() const;
    /// Everything up to and including dropping privileges; `privileged` runs just before.
    /// Throws std::system_error naming the pid file or the user.
    void start(boost::asio::io_context& io, const klog::pipeline& pipeline,
               const std::function<void()>& privileged);
    /// Startup succeeded: the parent exits 0, a service manager is told READY=1.
    void ready(const std::function<void(const std::string&)>& diag) const;
    /// The event loop ended: STOPPING=1.
    static void stopping() noexcept;
    /// Last: the pid file goes.
    void end();

  private:
    const config& cfg_;
    std::optional<pidfile> pidfile_;
};

}  // namespace klogd
