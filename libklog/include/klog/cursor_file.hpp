#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "klog/sinks/sink.hpp"

namespace klog {

/// Where one output stands: every /dev/kmsg record up to `seq` is safe there; for a file
/// output also where the file ends at that point (exactly-once after kill -9).
struct output_cursor {
    std::string name;  ///< the output's name ("/var/log/kern.log", "tcp://host:514", ...)
    std::optional<std::uint64_t> seq;
    std::optional<sinks::file_position> file;
    /// Network outputs with a spool: how far the collector itself acknowledged (`seq` also
    /// counts what waits in the spool), and the spool's directory.
    std::optional<std::uint64_t> acked;
    std::string spool;
    friend bool operator==(const output_cursor&, const output_cursor&) = default;
};

/// Where klogd stands in /dev/kmsg: the boot and each output's durable watermark. `seq` is the
/// oldest of them (what every output holds; none: some output holds nothing yet) — the whole
/// cursor of state files written before there were per-output positions.
struct cursor {
    std::string boot_id;
    std::optional<std::uint64_t> seq;
    std::vector<output_cursor> outputs;
    /// Saved by a daemon that stopped cleanly: everything it wrote is in the saved positions,
    /// so bytes after them were appended by someone else while it was stopped.
    bool clean = false;
    friend bool operator==(const cursor&, const cursor&) = default;

    /// The saved position of the output named `name`, if the file has one.
    [[nodiscard]] const output_cursor* find(const std::string& name) const noexcept;
};

/// Reads and writes the state file (`--state-file=`), lines of `key=value`:
///
///     boot_id=0f1e...
///     seq=1234
///     output=/var/log/kern.log
///     output.seq=1234
///     output.file=2049:131077:98765        (device:inode:offset)
///     output=tcp://logs.example.org:6514
///     output.seq=1200
///     output.acked=1150                    (spooled outputs: the collector's own)
///     output.spool=/var/lib/klogd/spool/tcp-logs.example.org-6514
///     clean=1                               (only when the daemon stopped cleanly)
///
/// `none` stands for "nothing yet"; control bytes and `\` in names are written as `\xNN`.
/// Saving is atomic (a temporary file in the same directory, written completely, renamed over
/// the old one), so a crash leaves the old state or the new one, never a torn one; `durable`
/// also fsyncs the file and its directory (the fsync timer, exit).
class cursor_file {
  public:
    /// Does not touch the disk.
    explicit cursor_file(std::string path) : path_(std::move(path)) {}

    /// The saved cursor; nullopt when there is none or it does not parse (`error` says why,
    /// empty when the file simply does not exist).
    [[nodiscard]] std::optional<cursor> load(std::string& error) const;

    /// Writes `c` atomically if it differs from what was saved last (or `durable` asks for an
    /// fsync that was not done yet); creates the directory (0755) if missing. Throws
    /// std::system_error naming the path.
    void save(const cursor& c, bool durable = false);

    [[nodiscard]] const std::string& path() const noexcept { return path_; }

    /// The running kernel's boot id (/proc/sys/kernel/random/boot_id), empty if unreadable.
    [[nodiscard]] static std::string current_boot_id();

  private:
    std::string path_;
    std::optional<cursor> last_saved_;
    bool last_durable_ = false;
};

}  // namespace klog
