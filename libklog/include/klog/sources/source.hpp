#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <system_error>

#include "klog/sources/record_handler.hpp"

namespace klog::sources {

/// How a `read_available` call ended.
enum class read_status {
    more,     ///< stopped after a batch; more may be ready now (call again)
    drained,  ///< everything the kernel holds now was read (EAGAIN); wait for readability
    end,      ///< the input ended (replayed file, closed stand-in); nothing more will come
};

/// A kernel log reader. Sources never block: `read_available` reads what is there now and
/// `async_wait` reports when more is (on the io_context given at construction).
class source {
  public:
    virtual ~source() = default;

    /// What it reads, for messages: "/dev/kmsg", "/proc/kmsg", "syslog(2)", a file name.
    [[nodiscard]] virtual const std::string& name() const noexcept = 0;

    /// Reads up to one batch of records and hands each to `handler`. Errors that end reading
    /// (EPERM, EIO, ...) come back in `ec` with the status `end`.
    virtual read_status read_available(record_handler& handler, std::error_code& ec) = 0;

    /// Calls `done` once the source may have more to read (or with an error / on close()).
    virtual void async_wait(std::function<void(std::error_code)> done) = 0;

    /// Releases the kernel interface (TSTP); pending waits complete with operation_aborted.
    virtual void close() noexcept = 0;

    /// -o: hands over everything the kernel holds now in one call, without consuming it, for a
    /// source that can (syslog(2) READ_ALL); false: read_available() until drained instead.
    virtual bool read_snapshot(record_handler& handler) {
        (void)handler;
        return false;
    }

    /// Lines longer than a kernel prints, cut (line-based sources; see line_decoder).
    [[nodiscard]] virtual std::uint64_t cut_lines() const noexcept { return 0; }
    /// Saved records too long to hold, cut (a replay of /dev/kmsg records; see replay_source).
    [[nodiscard]] virtual std::uint64_t cut_records() const noexcept { return 0; }
};

}  // namespace klog::sources
