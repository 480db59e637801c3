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

/// `to = from`, one field at a time. On the per-record path a record_meta is written field by
/// field a moment before it is copied; a whole copy reads it in 16-byte pieces that span several
/// of those stores, which the CPU cannot forward (a stall per piece, seen in perf).
inline void copy_fields(record_meta& to, const record_meta& from) noexcept {
    to.pos = from.pos;
    to.level = from.level;
    if (from.seq) {
        to.seq.emplace(*from.seq);
    } else {
        to.seq.reset();
    }
    if (from.before) {
        to.before.emplace(*from.before);
    } else {
        to.before.reset();
    }
}

/// One formatted record waiting for its output (in memory or in the spool): its bytes (no
/// framing, no trailing newline) and where it stands.
struct queued_record {
    std::string bytes;
    record_meta meta;
};

}  // namespace klog::sinks
