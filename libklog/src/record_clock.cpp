#include "klog/record_clock.hpp"

#include <ctime>

namespace klog {

namespace {
std::int64_t usec(const timespec& ts) noexcept {
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}
}  // namespace

void record_clock::refresh() noexcept {
    timespec mono{};
    timespec real{};
    ::clock_gettime(CLOCK_MONOTONIC, &mono);
    ::clock_gettime(CLOCK_REALTIME, &real);
    realtime_usec_ = usec(real);
    offset_usec_ = realtime_usec_ - usec(mono);
}

formatters::record_time record_clock::time_for(const std::optional<std::uint64_t>& ts_usec,
                                               bool estimated) const noexcept {
    if (!ts_usec || replay_) return {realtime_usec_, estimated || replay_};
    return {offset_usec_ + static_cast<std::int64_t>(*ts_usec), estimated};
}

}  // namespace klog
