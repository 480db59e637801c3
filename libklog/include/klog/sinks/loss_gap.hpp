#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace klog::sinks {

/// Records one output did not get — lost by the kernel ring (a sequence gap) or dropped by a
/// `drop` output that was full — accumulated until the next record that output takes, in
/// front of which the notice goes: `klogd: missed N kernel messages (seq A..B)`, one notice
/// per gap, never one per record. Without sequence numbers (proc/syscall sources) the range
/// is left out.
class loss_gap {
  public:
    void add(const std::optional<std::uint64_t>& seq) noexcept;
    /// `first..last` (inclusive) lost at once.
    void add_range(std::uint64_t first, std::uint64_t last) noexcept;
    /// `count` records lost somewhere in `first..last`.
    void add_range(std::uint64_t first, std::uint64_t last, std::uint64_t count) noexcept;
    [[nodiscard]] bool pending() const noexcept { return count_ != 0; }
    [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
    /// The first sequence number in the gap, if known.
    [[nodiscard]] std::optional<std::uint64_t> first() const noexcept { return first_; }
    /// The notice text; empty when nothing is pending.
    [[nodiscard]] std::string notice() const;
    void clear() noexcept { *this = loss_gap(); }

  private:
    std::uint64_t count_ = 0;
    std::optional<std::uint64_t> first_;
    std::optional<std::uint64_t> last_;
};

}  // namespace klog::sinks
