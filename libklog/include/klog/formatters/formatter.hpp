#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "klog/record_view.hpp"

namespace klog::formatters {

/// The wall-clock time the pipeline assigned to a record (DESIGN.md "time").
struct record_time {
    std::int64_t wall_usec = 0;  ///< microseconds since the Unix epoch (CLOCK_REALTIME)
    bool estimated = false;      ///< derived for backlog/replayed records, not observed live
};

/// What every formatter may need besides the record.
struct format_options {
    std::string hostname;  ///< HOSTNAME field of traditional / rfc3164 / rfc5424
    std::string boot_id;   ///< /proc/sys/kernel/random/boot_id, empty when unknown
    /// For files and standard output (and LF-framed streams): every record becomes complete
    /// '\n'-terminated lines with the line formats' escaping (text_escaper), so that no record
    /// can run into the next or forge a line. Only rfc5424 depends on it: off, its MSG keeps
    /// the text's bytes as they are and no newline follows (a record for transports that frame
    /// records themselves: RFC 5425/6587 octet counting, one UDP datagram). The other formats
    /// are always line-safe.
    bool line_mode = false;
    /// Line formats (traditional, raw, rfc3164) colour each line with line_colors: the prefix
    /// dimmed, the escaped text in its level's colour (klogd's own in its own). Decided by the
    /// caller (`--color`, color_wanted()); json and rfc5424 are never coloured.
    bool color = false;
};

/// Turns one record into bytes. Line formats append one or more complete '\n'-terminated lines
/// (one per text line of the record, each with the record's prefix, control bytes escaped);
/// json appends one escaped '\n'-terminated line; rfc5424 appends one line like json with
/// `format_options::line_mode`, else one record as the syslog protocol defines it. klogd's own
/// records (`record_view::own`) are marked where no kernel or userspace text can reach.
/// Formatters append to a caller-owned buffer that is reused across records, and never throw
/// on any record content.
class formatter {
  public:
    virtual ~formatter() = default;
    virtual void format(const record_view& record, const record_time& time,
                        std::string& out) const = 0;
};

}  // namespace klog::formatters
