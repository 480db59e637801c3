#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "klog/formatters/formatter.hpp"
#include "klog/sinks/sink.hpp"

namespace klog::sinks {

/// What a network output did, for `-d` and the exit summary.
struct network_counters {
    std::uint64_t sent = 0;           ///< records written to the peer (resent ones included)
    std::uint64_t queued = 0;         ///< records waiting in memory now
    std::uint64_t spooled = 0;        ///< records written to the disk spool by this run
    std::uint64_t dropped = 0;        ///< records lost (queue or spool full); each gap reported
    std::uint64_t resent = 0;         ///< records sent again after a broken connection
    std::uint64_t spool_bytes = 0;    ///< bytes in the spool now
    std::uint64_t spool_damaged = 0;  ///< bytes of spool segments that did not parse
};

/// The common face of udp_sink and stream_sink (TCP, TLS): counters and a diagnostics hook.
class network_sink : public sink {
  public:
    /// Where a network sink says what happens to its connection (`-d`).
    using diagnostics_fn = std::function<void(const std::string& message)>;

    [[nodiscard]] virtual network_counters counters() const = 0;
    /// `NAME: N sent, N queued, N spooled, N dropped, N resent[, N spool bytes]`.
    [[nodiscard]] std::string counters_line() const;

  protected:
    /// Formats klogd's own message (facility kern, level warning, now) with `format`.
    [[nodiscard]] static std::string format_notice(const formatters::formatter& format,
                                                   std::string_view text);
};

}  // namespace klog::sinks
