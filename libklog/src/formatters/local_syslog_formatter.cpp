#include "klog/formatters/local_syslog_formatter.hpp"

#include "format_common.hpp"

namespace klog::formatters {

void local_syslog_formatter::format(const record_view& record, const record_time& time,
                                    std::string& out) const {
    out += '<';
    detail::append_uint(out, detail::wire_priority(record));
    out += '>';
    detail::append_syslog_local_time(out, time.wall_usec);
    out += ' ';
    out.append(detail::append_syslog_tag(out, record));
}

}  // namespace klog::formatters
