#include "klog/sinks/backoff.hpp"

#include <algorithm>

namespace klog::sinks {

backoff::backoff(std::chrono::milliseconds initial, std::chrono::milliseconds maximum,
                 std::uint64_t seed)
    : initial_(std::max(initial, std::chrono::milliseconds(1))),
      maximum_(std::max(maximum, initial_)),
      step_(initial_),
      rng_(seed) {}

std::chrono::milliseconds backoff::next() {
    const auto d = step_.count();
    std::uniform_int_distribution<std::chrono::milliseconds::rep> pick(d / 2, d);
    const auto delay = std::chrono::milliseconds(pick(rng_));
    step_ = std::min(step_ * 2, maximum_);
    return delay;
}

}  // namespace klog::sinks
