#pragma once

#include <string>

#include "klog/formatters/formatter.hpp"

namespace klog::formatters {

/// The kern.log line, as sysklogd/rsyslog write it:
///
///     Nov  4 05:31:02 HOST kernel: [    4.836489] text\n
///     Nov  4 05:31:02 HOST kernel: [    4.836489][    T1] text\n    (caller)
///     Nov  4 05:31:02 HOST kernel: text\n                            (no kernel time)
///     Nov  4 05:31:02 HOST myapp[42]: hello\n                        (userspace record)
///
/// The time is `record_time::wall_usec` in the local time zone (TZ), English month names,
/// day of month space-padded. HOST is `format_options::hostname` with bytes outside printable
/// ASCII replaced by '_'; when the hostname is empty the field is left out (the form a local
/// syslogd expects on /dev/log, which adds its own host).
///
/// Userspace records (facility != 0) carry the tag of their writer: `ident[pid]:` or
/// `ident:` from `record_view::origin()`, followed by `origin.message`; they get no
/// `[secs.usecs]` part, so the line reads like the program's own syslog line. A userspace
/// record whose text has no recognisable tag, or claims the tag `kernel` or `klogd`, gets the
/// tag `kmsg:` and its whole text. klogd's own records (`record_view::own`) get the tag
/// `klogd:`:
///
///     Nov  4 05:31:02 HOST klogd: missed 4 kernel messages (seq 11..14)\n
///
/// so `kernel:` is only ever the kernel's and `klogd:` only ever klogd's.
///
/// Line format: one line per text line, each with the same prefix, bytes escaped by
/// text_escaper.
/// With format_options::color each line is coloured as line_colors says.
class traditional_formatter final : public formatter {
  public:
    explicit traditional_formatter(const format_options& options);
    void format(const record_view& record, const record_time& time,
                std::string& out) const override;

  private:
    std::string host_;
    bool color_ = false;  ///< format_options::color
};

}  // namespace klog::formatters
