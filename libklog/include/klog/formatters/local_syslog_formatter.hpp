#pragma once

#include "klog/formatters/formatter.hpp"

namespace klog::formatters {

/// What klogd sends to the local syslog daemon over /dev/log, one datagram per record:
///
///     <PRI>Mmm dd hh:mm:ss kernel: [    4.836489] text
///
/// No HOSTNAME (the local daemon adds its own, as with syslog(3)); userspace writers of
/// /dev/kmsg keep their `ident[pid]:` tag and facility, klogd's own records get the tag
/// `klogd:` (the tag rules of traditional_formatter); the text goes as it is, newlines and
/// control bytes included, as one message (a record format, not a line format): the syslog
/// daemon decides how to store them.
class local_syslog_formatter final : public formatter {
  public:
    void format(const record_view& record, const record_time& time,
                std::string& out) const override;
};

}  // namespace klog::formatters
