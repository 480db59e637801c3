#include "klogd/signal_actions.hpp"

#include <csignal>

#include "klog/pipeline.hpp"
#include "klogd/read_loop.hpp"
#include "klogd/symbol_stage.hpp"

namespace klogd {

namespace {

std::string signal_name(int signo) {
    switch (signo) {
        case SIGTERM:
            return "SIGTERM";
        case SIGINT:
            return "SIGINT";
        case SIGUSR1:
            return "SIGUSR1";
        case SIGUSR2:
            return "SIGUSR2";
        default:
            return "signal";
    }
}

}  // namespace

signal_actions::actions signal_actions::for_daemon(klog::pipeline& pipeline, read_loop& loop,
                                                   symbol_stage* symbols,
                                                   std::function<void()> stop) {
    actions a;
    a.stop = std::move(stop);
    a.reopen_outputs = [&pipeline, &loop] {
        pipeline.flush();
        pipeline.reopen();
        loop.flush_outputs();
    };
    a.suspend = [&loop] { loop.suspend(); };
    a.resume = [&loop] { loop.resume(); };
    if (symbols != nullptr) {
        a.reload = [symbols, &loop](bool all) {
            symbols->reload(all);
            loop.flush_outputs();
        };
    }
    return a;
}

signal_actions::signal_actions(boost::asio::io_context& io,
                               std::function<void(const std::string&)> diag, actions a)
    : signals_(io), diag_(std::move(diag)), actions_(std::move(a)) {
    for (const int signo : {SIGTERM, SIGINT, SIGHUP, SIGTSTP, SIGCONT, SIGUSR1, SIGUSR2}) {
        signals_.add(signo);
    }
}

void signal_actions::start() { wait(); }

void signal_actions::cancel() { signals_.cancel(); }

void signal_actions::wait() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        switch (signo) {
            case SIGTERM:
            case SIGINT:
                diag_("stopping on " + signal_name(signo));
                actions_.stop();
                return;
            case SIGHUP:
                diag_("SIGHUP: reopening outputs");
                actions_.reopen_outputs();
                break;
            case SIGTSTP:
                actions_.suspend();
                break;
            case SIGCONT:
                actions_.resume();
                break;
            case SIGUSR1:
            case SIGUSR2:
                if (!actions_.reload) {
                    diag_(signal_name(signo) + ": no address resolution (-x)");
                    break;
                }
                diag_(signal_name(signo) + (signo == SIGUSR1 ? ": reloading module symbols"
                                                             : ": reloading all symbols"));
                actions_.reload(signo == SIGUSR2);
                break;
            default:
                break;
        }
        wait();
    });
}

}  // namespace klogd
