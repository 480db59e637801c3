#include "klog/sinks/loss_gap.hpp"

#include <algorithm>

namespace klog::sinks {

void loss_gap::add(const std::optional<std::uint64_t>& seq) noexcept {
    ++count_;
    if (!seq) return;
    first_ = first_ ? std::min(*first_, *seq) : *seq;
    last_ = last_ ? std::max(*last_, *seq) : *seq;
}

std::string loss_gap::notice() const {
    if (count_ == 0) return {};
    std::string text = "klogd: missed " + std::to_string(count_) + " kernel messages";
    if (first_) text += " (seq " + std::to_string(*first_) + ".." + std::to_string(*last_) + ")";
    return text;
}

}  // namespace klog::sinks
