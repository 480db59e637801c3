#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace klog::sinks {

/// One formatted record waiting for a network peer (in memory or in the spool): its bytes
/// without framing, and its /dev/kmsg sequence number for loss reports.
struct queued_record {
    std::string bytes;
    std::optional<std::uint64_t> seq;
};

}  // namespace klog::sinks
