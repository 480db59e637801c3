#include "klogd/lifecycle.hpp"

#include <unistd.h>

#include "klogd/daemon.hpp"

namespace klogd {

void lifecycle::prepare() const {
    if (!cfg_.one_shot && cfg_.user_id && cfg_.group_id && !cfg_.state_file.empty()) {
        daemon::hand_over_state_directory(cfg_.state_file, static_cast<uid_t>(*cfg_.user_id),
                                          static_cast<gid_t>(*cfg_.group_id), *cfg_.user);
    }
}

void lifecycle::start(boost::asio::io_context& io, const klog::pipeline& pipeline,
                      const std::function<void()>& privileged) {
    // What the daemon writes after dropping privileges must be writable by that user.
    if (cfg_.user_id && cfg_.group_id) {
        for (const auto& out : pipeline.outputs()) {
            out->hand_over(static_cast<uid_t>(*cfg_.user_id), static_cast<gid_t>(*cfg_.group_id));
        }
    }
    pidfile_.emplace(cfg_.pidfile);
    if (!cfg_.foreground) {
        io.notify_fork(boost::asio::io_context::fork_prepare);
        // --source=-: standard input is what the daemon reads.
        daemon::detach(cfg_.debug,
                       cfg_.source == source_kind::replay && cfg_.replay_path == "-");
        io.notify_fork(boost::asio::io_context::fork_child);
    }
    pidfile_->write(::getpid());
    try {
        if (privileged) privileged();
        if (cfg_.user) daemon::drop_privileges(*cfg_.user);
    } catch (...) {
        pidfile_->remove();  // the daemon ends before it ran: no pid file stays behind
        throw;
    }
}

void lifecycle::ready(const std::function<void(const std::string&)>& diag) const {
    daemon::ready();
    daemon::notify("READY=1");
    diag("running (pid " + std::to_string(::getpid()) + ")");
}

void lifecycle::stopping() noexcept { daemon::notify("STOPPING=1"); }

void lifecycle::end() {
    if (pidfile_) pidfile_->remove();
}

}  // namespace klogd
