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
};

/// Turns one record into bytes. Line formats append one or more complete '\n'-terminated lines
/// (one per text line of the record, each with the record's prefix, control bytes escaped);
/// record formats (rfc5424, json) append exactly one record without a trailing newline policy
/// of their own beyond what the format defines. Formatters append to a caller-owned buffer that
/// is reused across records, and never throw on any record content.
class formatter {
  public:
    virtual ~formatter() = default;
    virtual void format(const record_view& record, const record_time& time,
                        std::string& out) const = 0;
    /// Line formats split multi-line records and escape; record formats keep one record.
    [[nodiscard]] virtual bool line_oriented() const noexcept = 0;
};

}  // namespace klog::formatters
