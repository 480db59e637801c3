#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace klog {

/// Where klogd stopped reading /dev/kmsg: the boot and the last sequence number every output
/// took. Kept in the state file (`--state-file=`) as two lines, `boot_id=...` and `seq=...`.
struct cursor {
    std::string boot_id;
    std::uint64_t seq = 0;
    friend bool operator==(const cursor&, const cursor&) = default;
};

/// Reads and writes the state file. Saving is atomic: a temporary file in the same directory,
/// renamed over the old one, so a crash leaves either the old cursor or the new one, never a
/// torn one. No fsync: a power loss also empties the kernel ring, and a new boot (another
/// boot_id) reads the whole ring anyway.
class cursor_file {
  public:
    /// Does not touch the disk.
    explicit cursor_file(std::string path) : path_(std::move(path)) {}

    /// The saved cursor; nullopt when there is none or it does not parse (`error` says why,
    /// empty when the file simply does not exist).
    [[nodiscard]] std::optional<cursor> load(std::string& error) const;

    /// Writes `c` atomically; creates the directory (0755) if missing. Throws
    /// std::system_error naming the path.
    void save(const cursor& c);

    [[nodiscard]] const std::string& path() const noexcept { return path_; }

    /// The running kernel's boot id (/proc/sys/kernel/random/boot_id), empty if unreadable.
    [[nodiscard]] static std::string current_boot_id();

  private:
    std::string path_;
    std::optional<cursor> last_saved_;
};

}  // namespace klog
