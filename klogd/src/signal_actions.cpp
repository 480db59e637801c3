#include "klogd/signal_actions.hpp"

#include <signal.h>

#include <atomic>
#include <csignal>
#include <cstdint>

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

/// When TSTP and CONT last arrived (a count of both): Asio's signal_set hands out the signals
/// that wait together in the order of their numbers (CONT before TSTP), not as they came, so
/// a TSTP then CONT sent while the loop was busy left klogd suspended. A handler in front of
/// Asio's notes the order; the one that came last decides.
std::atomic<std::uint64_t> stop_cont_clock{0};
std::atomic<std::uint64_t> last_tstp{0};
std::atomic<std::uint64_t> last_cont{0};
struct sigaction asio_tstp {};
struct sigaction asio_cont {};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

extern "C" void note_stop_or_cont(int signo) {
    const std::uint64_t now = stop_cont_clock.fetch_add(1) + 1;
    (signo == SIGTSTP ? last_tstp : last_cont).store(now);
    const auto& asio = signo == SIGTSTP ? asio_tstp : asio_cont;
    asio.sa_handler(signo);
}

/// Puts note_stop_or_cont in front of Asio's handler of `signo` (saved in `asio`); false if
/// that handler is not a plain function Asio installed.
bool note_order_of(int signo, struct sigaction& asio) {
    struct sigaction now {};
    if (::sigaction(signo, nullptr, &now) != 0) return false;
    if (now.sa_handler == note_stop_or_cont) return true;  // in front already (`asio` kept)
    if ((now.sa_flags & SA_SIGINFO) != 0 || now.sa_handler == SIG_DFL ||
        now.sa_handler == SIG_IGN) {
        return false;
    }
    asio = now;
    struct sigaction ours = now;
    ours.sa_handler = note_stop_or_cont;
    return ::sigaction(signo, &ours, nullptr) == 0;
}

/// The signals held while the daemon starts (see hold_until_handled).
sigset_t held_signals() noexcept {
    sigset_t set;
    sigemptyset(&set);
    for (const int signo : {SIGHUP, SIGUSR1, SIGUSR2, SIGTSTP}) sigaddset(&set, signo);
    return set;
}

}  // namespace

void signal_actions::hold_until_handled() noexcept {
    const sigset_t set = held_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void signal_actions::release_held() noexcept {
    const sigset_t set = held_signals();
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

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
    // CONT first: a TSTP noted before its handler is in place would count as the last.
    arrival_order_ = note_order_of(SIGCONT, asio_cont) && note_order_of(SIGTSTP, asio_tstp);
    // What was sent while klogd started reaches the handlers now (and waits for start()).
    release_held();
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
            case SIGCONT:
                // Both may wait here at once, CONT handed out first: the one that came last
                // decides (suspend and resume do nothing a second time).
                if (arrival_order_ ? last_tstp.load() > last_cont.load() : signo == SIGTSTP) {
                    actions_.suspend();
                } else {
                    actions_.resume();
                }
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
