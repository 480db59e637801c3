#include "klogd/source_factory.hpp"

#include "klogd/defaults.hpp"

#include <sys/socket.h>
#include <sys/stat.h>

#include <iostream>
#include <system_error>

#include "klog/os/os.hpp"
#include "klog/sources/kmsg_source.hpp"
#include "klog/sources/proc_kmsg_source.hpp"
#include "klog/sources/read_ahead_source.hpp"
#include "klog/sources/replay_source.hpp"
#include "klog/sources/syscall_source.hpp"
#include "klogd/options.hpp"

namespace klogd {

namespace {

using diag_fn = std::function<void(const std::string&)>;

bool is_char_device(const char* path) {
    struct stat st {};
    return !klog::os::path_status(path, st) && S_ISCHR(st.st_mode);
}

/// A stand-in for /dev/kmsg: a listening SOCK_SEQPACKET socket (one message = one record).
int connect_seqpacket(const std::string& path) {
    std::error_code ec;
    auto fd = klog::os::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, ec);
    if (!ec) ec = klog::os::connect_unix(fd.get(), path);
    if (ec) throw klog::os::failure(ec, "connect to", path);
    return fd.release();
}

opened_source open_kmsg(boost::asio::io_context& io, const std::string& path, bool explicit_path,
                        const diag_fn& diag) {
    using klog::sources::kmsg_source;
    opened_source o;
    o.sequence_numbers = true;
    struct stat st {};
    if (explicit_path && !klog::os::path_status(path, st) && S_ISSOCK(st.st_mode)) {
        diag("reading kmsg records from socket " + path);
        o.source = std::make_unique<kmsg_source>(io, connect_seqpacket(path), path);
        return o;
    }
    o.source =
        std::make_unique<kmsg_source>(io, kmsg_source::open_device(path, !explicit_path), path);
    diag("reading " + path);
    return o;
}

opened_source syslog_call(boost::asio::io_context& io, const config& cfg, const diag_fn& diag) {
    diag("reading through syslog(2)");
    opened_source o;
    o.syscall_one_shot = cfg.one_shot;
    o.source = std::make_unique<klog::sources::syscall_source>(io, klog::sources::system_klogctl());
    return o;
}

}  // namespace

opened_source open_source(boost::asio::io_context& io, const config& cfg, const diag_fn& diag) {
    using namespace klog::sources;
    switch (cfg.source) {
        case source_kind::replay: {
            const int fd = replay_source::open_file(cfg.replay_path);
            if (!cfg.foreground && !cfg.one_shot && klog::os::is_terminal(fd)) {
                // Whatever names it (-, /dev/tty, /dev/stdin): after detaching it would go on
                // taking the shell's input.
                if (fd > STDIN_FILENO) klog::os::unique_fd(fd).reset();
                throw usage_error("--source " + cfg.replay_path +
                                  ": a terminal: a detached daemon would go on reading it (the "
                                  "shell's input); add -n, or redirect it");
            }
            diag("replaying " + cfg.replay_path);
            opened_source o;
            auto replay = std::make_unique<replay_source>(io, fd, cfg.replay_path);
            // A daemon replaying a pipe, FIFO or terminal waits for its bytes in the event loop
            // (signals act while the writer is quiet; the source tells what it can wait on);
            // -o reads on to the end of input.
            if (!cfg.one_shot) replay->wait_for_input();
            o.source = std::move(replay);
            // A regular file is read and decoded on a second thread, a batch ahead of the
            // rest. A pipe is not, nor a file of /proc (size 0; /proc/kmsg's reads wait for
            // the kernel): a read that waits for ever would keep close() waiting. Nor standard
            // input, whatever it is (read on the one thread, as the man page says).
            struct stat st {};
            if (cfg.replay_path != "-" && !klog::os::status(fd, st) && S_ISREG(st.st_mode) &&
                st.st_size > 0) {
                o.source = std::make_unique<read_ahead_source>(io, std::move(o.source));
            }
            return o;
        }
        case source_kind::kmsg:
            return open_kmsg(io, cfg.source_path.value_or(std::string(defaults::kmsg_device)), cfg.source_path.has_value(),
                             diag);
        case source_kind::proc: {
            const auto path = cfg.source_path.value_or(std::string(defaults::proc_kmsg));
            diag("reading " + path +
                 " (destructive: other readers no longer see what klogd reads)");
            opened_source o;
            o.source = std::make_unique<proc_kmsg_source>(io, proc_kmsg_source::open_file(path), path);
            return o;
        }
        case source_kind::syscall:
            return syslog_call(io, cfg, diag);
        case source_kind::automatic:
            break;
    }
    // Auto: /dev/kmsg (a character device) → /proc/kmsg → syslog(2). One-shot never takes the
    // destructive /proc/kmsg: it falls back to syslog(2) READ_ALL, which leaves the log as it is.
    if (is_char_device(defaults::kmsg_device.data())) {
        try {
            return open_kmsg(io, std::string(defaults::kmsg_device), false, diag);
        } catch (const std::system_error& e) {
            std::cerr << "klogd: " << e.what() << "; falling back\n";
        }
    } else {
        std::cerr << "klogd: /dev/kmsg is not a character device; falling back\n";
    }
    if (!cfg.one_shot) {
        try {
            opened_source o;
            o.source =
                std::make_unique<proc_kmsg_source>(io, proc_kmsg_source::open_file(std::string(defaults::proc_kmsg)));
            diag("reading /proc/kmsg");
            return o;
        } catch (const std::system_error& e) {
            std::cerr << "klogd: " << e.what() << "; falling back to syslog(2)\n";
        }
    }
    return syslog_call(io, cfg, diag);
}

void set_console_level(const config& cfg, const std::function<void(const std::string&)>& diag) {
    if (!cfg.console_level) return;
    std::error_code ec;
    klog::os::kernel_log(klog::sources::klogctl_action::console_level, nullptr,
                         *cfg.console_level, ec);
    if (ec) {
        throw std::system_error(
            ec, "-c " + std::to_string(*cfg.console_level) + ": syslog(2) console level");
    }
    diag("console log level set to " + std::to_string(*cfg.console_level));
}

}  // namespace klogd
