// Wall-clock times of records: now_realtime − (now_monotonic − ts).
#include "klog/record_clock.hpp"

#include <catch2/catch.hpp>
#include <ctime>

namespace {
std::int64_t now_usec(clockid_t id) {
    timespec ts{};
    ::clock_gettime(id, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}
}  // namespace

TEST_CASE("record_clock: a kernel time becomes the wall time it happened at", "[clock]") {
    klog::record_clock clock;
    const auto mono = now_usec(CLOCK_MONOTONIC);
    const auto real = now_usec(CLOCK_REALTIME);
    // A record printed 10 s ago (monotonic), as the kernel stamps it.
    const auto ts = static_cast<std::uint64_t>(mono - 10'000'000);
    const auto t = clock.time_for(ts, false);
    CHECK_FALSE(t.estimated);
    // Within the few microseconds between the samples (a generous second for a loaded machine,
    // and for a wall clock set meanwhile).
    CHECK(std::llabs(t.wall_usec - (real - 10'000'000)) < 1'000'000);
    CHECK(clock.time_for(ts + 1, false).wall_usec == t.wall_usec + 1);  // one offset, exact
    CHECK(clock.time_for(ts, true).estimated);
}

TEST_CASE("record_clock: no kernel time, or a replayed log, gets the time of the read, estimated "
          "when replayed",
          "[clock]") {
    klog::record_clock clock;
    const auto none = clock.time_for(std::nullopt, false);
    CHECK_FALSE(none.estimated);
    CHECK(std::llabs(none.wall_usec - now_usec(CLOCK_REALTIME)) < 1'000'000);
    clock.set_replay(true);
    const auto replayed = clock.time_for(5'000'000, false);  // another boot's kernel time
    CHECK(replayed.estimated);
    CHECK(replayed.wall_usec == none.wall_usec);
}
