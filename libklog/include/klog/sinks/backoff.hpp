#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace klog::sinks {

/// Reconnect delays: exponential (doubling from `initial` up to `maximum`) with jitter, so that
/// a fleet of klogds does not reconnect to a restarted collector in lockstep. Each delay is
/// drawn uniformly from [d/2, d] where d is the current step ("equal jitter").
class backoff {
  public:
    backoff(std::chrono::milliseconds initial, std::chrono::milliseconds maximum,
            std::uint64_t seed = std::random_device{}());

    /// The delay before the next attempt; doubles the step for the one after.
    [[nodiscard]] std::chrono::milliseconds next();
    /// After a success: the next failure waits `initial` again.
    void reset() noexcept { step_ = initial_; }
    /// The current step (the upper bound of the next delay).
    [[nodiscard]] std::chrono::milliseconds step() const noexcept { return step_; }

  private:
    std::chrono::milliseconds initial_;
    std::chrono::milliseconds maximum_;
    std::chrono::milliseconds step_;
    std::mt19937_64 rng_;
};

}  // namespace klog::sinks
