#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "klog/sources/source.hpp"
#include "klogd/config.hpp"

namespace klogd {

/// A source opened for the configuration, and what the rest of klogd must know about it.
struct opened_source {
    std::unique_ptr<klog::sources::source> source;
    /// /dev/kmsg records (or a stand-in of it): sequence numbers to check and save a cursor by.
    bool sequence_numbers = false;
    /// -o through syslog(2): READ_ALL once, the log left as it is.
    bool syscall_one_shot = false;
};

/// Opens what `cfg` says to read: --source=kmsg|proc|syscall|PATH, or auto: /dev/kmsg (a
/// character device) → /proc/kmsg → syslog(2); one-shot never takes the destructive
/// /proc/kmsg. `kmsg:PATH` may be a SOCK_SEQPACKET socket standing in for /dev/kmsg. Throws
/// std::system_error naming what cannot be opened; says each fallback on standard error and
/// what it reads through `diag` (-d).
[[nodiscard]] opened_source open_source(boost::asio::io_context& io, const config& cfg,
                                        const std::function<void(const std::string&)>& diag);

/// -c N: the kernel's console log level, through syslog(2) (throws std::system_error naming
/// the option); nothing without -c.
void set_console_level(const config& cfg, const std::function<void(const std::string&)>& diag);

}  // namespace klogd
