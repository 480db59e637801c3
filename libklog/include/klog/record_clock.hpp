#pragma once

#include <cstdint>
#include <optional>

#include "klog/formatters/formatter.hpp"

namespace klog {

/// Gives records a wall-clock time (DESIGN.md "time"): for a kernel timestamp,
/// now_realtime − (now_monotonic − ts_usec). The kernel clock and CLOCK_MONOTONIC both stop in
/// suspend, so this is right for everything since the last resume. The offset is sampled by
/// `refresh()` (once per batch of records), not per record.
class record_clock {
  public:
    record_clock() { refresh(); }

    /// Samples realtime − monotonic now.
    void refresh() noexcept;

    /// The wall time of a record with kernel time `ts_usec`; without one, the time of the last
    /// refresh. `estimated`: the record was not observed as it happened (backlog, replay).
    [[nodiscard]] formatters::record_time time_for(const std::optional<std::uint64_t>& ts_usec,
                                                   bool estimated) const noexcept;

    /// Replaying a saved log: kernel times belong to another boot, so every record gets the
    /// time of the read instead, marked estimated.
    void set_replay(bool replay) noexcept { replay_ = replay; }

  private:
    std::int64_t realtime_usec_ = 0;
    std::int64_t offset_usec_ = 0;  ///< realtime − monotonic
    bool replay_ = false;
};

}  // namespace klog
