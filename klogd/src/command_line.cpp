// klogd's command line, from arguments to exit status: options, configuration, environment
// checks, the signal-sending modes, then the daemon or the one-shot dump. Startup errors are
// caught here once. main.cpp is only a call to it (the test suite's broken klogd wraps it).
#include "klogd/command_line.hpp"

#include <csignal>
#include <iostream>
#include <system_error>

#include "klogd/application.hpp"
#include "klogd/config.hpp"
#include "klogd/daemon.hpp"
#include "klogd/options.hpp"
#include "klogd/signal_actions.hpp"
#include "klogd/version.hpp"

namespace klogd {

int run_command_line(int argc, char* argv[]) {
    // Before anything opens a file: a descriptor 0-2 left closed by whoever started us would
    // be the next file opened (asio's eventfd, the log), and stdout writes would land there.
    if (!daemon::open_standard_fds()) return 1;
    // A HUP or USR1 sent while the daemon starts waits for its handlers (signal_actions).
    signal_actions::hold_until_handled();
    try {
        const auto opts = parse_options(argc, argv);
        if (opts.help) {
            std::cout << help_text();
            return 0;
        }
        if (opts.version) {
            std::cout << "klogd " << version << '\n';
            return 0;
        }
        auto cfg = make_config(opts);
        if (cfg.one_shot) signal_actions::release_held();  // -o keeps the default actions
        check_environment(cfg);
        if (opts.check_config) {
            std::cout << "klogd: configuration ok\n";
            return 0;
        }
        if (opts.signal_reload_modules || opts.signal_reload_all) {
            const int signo = opts.signal_reload_all ? SIGUSR2 : SIGUSR1;
            const auto pid = daemon::signal_running(cfg.pidfile, signo);
            std::cout << "klogd: asked klogd (pid " << pid << ") to reload "
                      << (opts.signal_reload_all ? "all symbols" : "module symbols") << '\n';
            return 0;
        }
        application app(std::move(cfg));
        app.open();
        return app.run();
    } catch (const usage_error& e) {
        std::cerr << "klogd: " << e.what() << "\nTry 'klogd --help' for more information.\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "klogd: " << e.what() << '\n';
        return 1;
    }
}

}  // namespace klogd
