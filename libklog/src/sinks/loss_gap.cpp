#include "klog/sinks/loss_gap.hpp"

#include <algorithm>
#include <cstdint>

namespace klog::sinks {

void loss_gap::add(const std::optional<std::uint64_t>& seq) noexcept {
    ++count_;
    if (!seq) return;
    first_ = first_ ? std::min(*first_, *seq) : *seq;
    last_ = last_ ? std::max(*last_, *seq) : *seq;
}

void loss_gap::add_range(std::uint64_t first, std::uint64_t last) noexcept {
    if (last < first) return;
    const std::uint64_t n = last - first;  // + 1, saturating: a bogus 0..2^64-1 jump
    count_ = n >= UINT64_MAX - count_ ? UINT64_MAX : count_ + n + 1;
    first_ = first_ ? std::min(*first_, first) : first;
    last_ = last_ ? std::max(*last_, last) : last;
}

void loss_gap::add_range(std::uint64_t first, std::uint64_t last, std::uint64_t count) noexcept {
    if (last < first || count == 0) return;
    count_ = count >= UINT64_MAX - count_ ? UINT64_MAX : count_ + count;
    first_ = first_ ? std::min(*first_, first) : first;
    last_ = last_ ? std::max(*last_, last) : last;
}

std::string loss_gap::notice() const {
    if (count_ == 0) return {};
    std::string text = "klogd: missed " + std::to_string(count_) + " kernel messages";
    if (first_) text += " (seq " + std::to_string(*first_) + ".." + std::to_string(*last_) + ")";
    return text;
}

}  // namespace klog::sinks
