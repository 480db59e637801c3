#include "klog/sinks/network_sink.hpp"

#include <chrono>

namespace klog::sinks {

std::string network_sink::counters_line() const {
    const auto c = counters();
    std::string line = name() + ": " + std::to_string(c.sent) + " sent, " +
                       std::to_string(c.queued) + " queued, " + std::to_string(c.spooled) +
                       " spooled, " + std::to_string(c.dropped) + " dropped, " +
                       std::to_string(c.resent) + " resent";
    if (c.spool_bytes != 0) line += ", " + std::to_string(c.spool_bytes) + " bytes in spool";
    if (c.spool_damaged != 0) {
        line += ", " + std::to_string(c.spool_damaged) + " damaged spool bytes";
    }
    return line;
}

std::string network_sink::format_notice(const formatters::formatter& format,
                                        std::string_view text) {
    record_view own;
    own.level = 4;
    own.text = text;
    own.own = true;
    formatters::record_time time;
    time.wall_usec = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    std::string out;
    format.format(own, time, out);
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

}  // namespace klog::sinks
