#pragma once

#include <string>

#include "klog/formatters/formatter.hpp"

namespace klog::formatters {

/// BSD syslog (RFC 3164) lines: `<PRI>` followed by exactly the traditional_formatter line:
///
///     <6>Nov  4 05:31:02 HOST kernel: [    4.836489] text\n
///     <14>Nov  4 05:31:02 HOST myapp[42]: hello\n
///
/// The `[secs.usecs] ` kernel time (and `[caller] `) is kept at the start of the MSG part, as
/// on the kern.log line: it is the only exact time of a kernel record, and it is how imklog /
/// syslogd have always forwarded kernel lines. Userspace records have none (same tag rule as
/// traditional_formatter).
///
/// PRI = facility * 8 + level, but the syslog wire knows only facilities 0..23 (PRIVAL <=
/// 191): a record with a larger facility is sent as facility 1 (user) with its level.
/// Empty hostname: the HOST field is left out, which is what a local syslogd reads from
/// /dev/log (`<PRI>Mmm dd hh:mm:ss kernel: text`).
///
/// Line format: one line per text line, each with the same prefix, bytes escaped by
/// text_escaper, each line ending with '\n' (a datagram transport sends one line per packet
/// and drops the '\n').
/// With format_options::color each line is coloured as line_colors says.
class rfc3164_formatter final : public formatter {
  public:
    explicit rfc3164_formatter(const format_options& options);
    void format(const record_view& record, const record_time& time,
                std::string& out) const override;

  private:
    std::string host_;
    bool color_ = false;  ///< format_options::color
};

}  // namespace klog::formatters
