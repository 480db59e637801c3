#pragma once

#include <string>
#include <string_view>

#include "klog/formatters/formatter.hpp"

namespace klog::formatters {

/// One record as a datagram of systemd-journald's native protocol (what sd_journal_sendv()
/// sends to /run/systemd/journal/socket): fields `NAME=value\n`, or, for a value that holds a
/// newline, `NAME\n` + the value's length as 64-bit little endian + the value + `\n` (binary
/// safe: the text goes as the kernel wrote it). Fields:
///
///     MESSAGE               the text (its `ident[pid]: ` tag removed for userspace records)
///     PRIORITY              0..7
///     SYSLOG_FACILITY       0 for the kernel
///     SYSLOG_IDENTIFIER     kernel, klogd (klogd's own records), pstore, or a writer's ident
///     SYSLOG_PID            a userspace writer's pid, when its tag has one
///     KERNEL_SEQNUM         /dev/kmsg sequence number
///     KERNEL_TIMESTAMP_USEC the kernel's monotonic time of the record
///     KERNEL_CALLER         T123 / C1 (CONFIG_PRINTK_CALLER)
///     KERNEL_<KEY>          each dictionary entry (SUBSYSTEM=, DEVICE=...), the key upper-cased
///                           with anything but A-Z, 0-9 and _ made _
///     KLOGD_OWN=1, KLOGD_PSTORE=1, KLOGD_MALFORMED=1  where they apply
///
/// journald's trusted fields (`_TRANSPORT`, `_KERNEL_DEVICE`...) start with `_` and are
/// set by journald alone; a sender cannot forge them, so these are plain fields.
class journal_formatter final : public formatter {
  public:
    void format(const record_view& record, const record_time& time,
                std::string& out) const override;

    /// Appends one field in the native protocol's form (binary when `value` holds '\n').
    static void append_field(std::string& out, std::string_view name, std::string_view value);
};

}  // namespace klog::formatters
