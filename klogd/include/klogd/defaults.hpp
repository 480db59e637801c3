#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

/// Every default of the daemon, in one place: the config, the options' help, the source
/// factory and the application take them from here (README and man/klogd.8 say the same).
namespace klogd::defaults {

// What klogd reads.
inline constexpr std::string_view kmsg_device = "/dev/kmsg";
inline constexpr std::string_view proc_kmsg = "/proc/kmsg";
inline constexpr std::string_view kallsyms = "/proc/kallsyms";
inline constexpr std::string_view modules = "/proc/modules";
inline constexpr std::string_view pstore_dir = "/sys/fs/pstore";

// What it writes to.
inline constexpr std::string_view syslog_socket = "/dev/log";
inline constexpr std::string_view journal_socket = "/run/systemd/journal/socket";
inline constexpr std::string_view pidfile = "/run/klogd.pid";
/// Its own directory (the cursor and, beside it, `spool/`), made by klogd.
inline constexpr std::string_view state_dir = "/var/lib/klogd";
inline constexpr std::string_view state_file = "/var/lib/klogd/state";

// Limits.
inline constexpr std::uint64_t spool_max = 64ULL << 20;  ///< --spool-max, bytes per output
inline constexpr std::size_t relp_window = 128;
inline constexpr std::chrono::seconds relp_timeout{90};
/// How long `-o` waits for outputs that make no progress (`--flush-timeout`), and how long a
/// stopping daemon waits (the shorter of it and two seconds).
inline constexpr std::chrono::milliseconds flush_timeout{10000};
inline constexpr std::chrono::seconds metrics_interval{15};
/// `-o` to a file: blocks of this size are written by a second thread while the next records
/// are formatted (the daemon writes on its one thread).
inline constexpr std::size_t one_shot_write_block = 1024 * 1024;
/// ... and the device starts writing back every 2 MiB (that thread's time, not the reader's),
/// so the fsync that ends the run waits for little.
inline constexpr std::size_t one_shot_writeback_after = 2 * 1024 * 1024;

}  // namespace klogd::defaults
