// klogd: read the kernel log and deliver every record. Startup errors are caught here once.
#include <csignal>
#include <iostream>
#include <system_error>

#include "klogd/application.hpp"
#include "klogd/config.hpp"
#include "klogd/daemon.hpp"
#include "klogd/options.hpp"
#include "klogd/version.hpp"

int main(int argc, char* argv[]) {
    // Before anything opens a file: a descriptor 0-2 left closed by whoever started us would
    // be the next file opened (asio's eventfd, the log), and stdout writes would land there.
    if (!klogd::daemon::open_standard_fds()) return 1;
    try {
        const auto opts = klogd::parse_options(argc, argv);
        if (opts.help) {
            std::cout << klogd::help_text();
            return 0;
        }
        if (opts.version) {
            std::cout << "klogd " << klogd::version << '\n';
            return 0;
        }
        auto cfg = klogd::make_config(opts);
        klogd::check_environment(cfg);
        if (opts.check_config) {
            std::cout << "klogd: configuration ok\n";
            return 0;
        }
        if (opts.signal_reload_modules || opts.signal_reload_all) {
            const int signo = opts.signal_reload_all ? SIGUSR2 : SIGUSR1;
            const auto pid = klogd::daemon::signal_running(cfg.pidfile, signo);
            std::cout << "klogd: asked klogd (pid " << pid << ") to reload "
                      << (opts.signal_reload_all ? "all symbols" : "module symbols") << '\n';
            return 0;
        }
        klogd::application app(std::move(cfg));
        app.open();
        return app.run();
    } catch (const klogd::usage_error& e) {
        std::cerr << "klogd: " << e.what() << "\nTry 'klogd --help' for more information.\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "klogd: " << e.what() << '\n';
        return 1;
    }
}
