#pragma once

#include <cstdint>
#include <optional>

namespace klog {

/// Follows /dev/kmsg sequence numbers: finds the records the ring lost before we read them
/// (a jump forward) and records we have already delivered (not forward: skipped).
class sequence_tracker {
  public:
    struct gap {
        std::uint64_t first;  ///< first missing sequence number
        std::uint64_t last;   ///< last missing sequence number
        [[nodiscard]] std::uint64_t count() const noexcept { return last - first + 1; }
    };
    struct verdict {
        std::optional<gap> missed;  ///< records lost just before this one
        bool duplicate = false;     ///< already delivered: do not deliver again
    };

    sequence_tracker() = default;
    /// Starts after `last_delivered` (a saved cursor): the next record is expected to be
    /// `last_delivered + 1`, and anything before it is a duplicate.
    explicit sequence_tracker(std::uint64_t last_delivered) noexcept : last_(last_delivered) {}

    verdict observe(std::uint64_t seq) noexcept;

    [[nodiscard]] std::optional<std::uint64_t> last() const noexcept { return last_; }

  private:
    std::optional<std::uint64_t> last_;
};

}  // namespace klog
