#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace klog::sinks {

/// Records an output had to drop (queue or spool full), accumulated until the next record that
/// gets through, in front of which the notice goes:
/// `klogd: missed N kernel messages (seq A..B)` — the text pipeline::notice uses for ring gaps.
/// Without sequence numbers (proc/syscall sources) the range is left out.
class loss_gap {
  public:
    void add(const std::optional<std::uint64_t>& seq) noexcept;
    [[nodiscard]] bool pending() const noexcept { return count_ != 0; }
    [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
    /// The notice text; empty when nothing is pending.
    [[nodiscard]] std::string notice() const;
    void clear() noexcept { *this = loss_gap(); }

  private:
    std::uint64_t count_ = 0;
    std::optional<std::uint64_t> first_;
    std::optional<std::uint64_t> last_;
};

}  // namespace klog::sinks
