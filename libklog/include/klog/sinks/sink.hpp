#pragma once

#include <string>
#include <string_view>
#include <system_error>

#include "klog/record_view.hpp"

namespace klog::sinks {

/// Where formatted records go. A sink takes the bytes of one record (already formatted by the
/// output's formatter) and the record itself (for its level, e.g. to fsync on crit). Runtime
/// I/O errors are handled and counted inside the sink; `write` never throws on I/O.
class sink {
  public:
    virtual ~sink() = default;
    /// For messages: "stdout", a path, "udp://host:port".
    [[nodiscard]] virtual const std::string& name() const noexcept = 0;
    virtual void write(std::string_view bytes, const record_view& record) = 0;
    /// Pushes buffered bytes out (end of a batch, shutdown).
    virtual void flush() = 0;
    /// SIGHUP: reopen files, reconnect (logrotate).
    virtual void reopen() {}
    /// Bytes taken but not yet written out (a full disk, a peer away): the daemon retries on
    /// a timer and does not advance the cursor past them.
    [[nodiscard]] virtual bool has_pending() const noexcept { return false; }
    /// The error that is keeping bytes pending, if any.
    [[nodiscard]] virtual std::error_code last_error() const noexcept { return {}; }
};

}  // namespace klog::sinks
