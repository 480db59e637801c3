#include "klog/formatters/rfc3164_formatter.hpp"

#include "format_common.hpp"

namespace klog::formatters {

namespace {
constexpr std::size_t max_hostname = 255;
}

rfc3164_formatter::rfc3164_formatter(const format_options& options)
    : host_(detail::printable_token(options.hostname, max_hostname)), color_(options.color) {}

void rfc3164_formatter::format(const record_view& record, const record_time& time,
                               std::string& out) const {
    detail::append_syslog_lines(out, record, time, host_, true, color_);
}

}  // namespace klog::formatters
