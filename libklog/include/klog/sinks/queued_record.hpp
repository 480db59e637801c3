#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace klog::sinks {

/// Where one formatted record stands in the stream the pipeline hands to every output.
///
/// `pos` is the pipeline's delivery position: one per record read (everything klogd writes for
/// that record — a loss notice in front of it, the raw and the resolved line of `-2` — shares
/// it) and one per notice of klogd's own that belongs to no record. An output's durable
/// watermark is the highest position such that it and everything before it is safe there.
///
/// `seq` is the kernel record's /dev/kmsg sequence number (none for klogd's own notices and for
/// sources without one); `before` is what the cursor may claim while this item is not safe yet:
/// the sequence number of the last kernel record before it (none: nothing).
struct record_meta {
    std::uint64_t pos = 0;
    std::optional<std::uint64_t> seq;
    std::optional<std::uint64_t> before;
    std::uint8_t level = 6;
};

/// One formatted record waiting for its output (in memory or in the spool): its bytes (no
/// framing, no trailing newline) and where it stands.
struct queued_record {
    std::string bytes;
    record_meta meta;
};

}  // namespace klog::sinks
