#include "klog/formatters/traditional_formatter.hpp"

#include "format_common.hpp"

namespace klog::formatters {

namespace {
constexpr std::size_t max_hostname = 255;
}

traditional_formatter::traditional_formatter(const format_options& options)
    : host_(detail::printable_token(options.hostname, max_hostname)), color_(options.color) {}

void traditional_formatter::format(const record_view& record, const record_time& time,
                                   std::string& out) const {
    detail::append_syslog_lines(out, record, time, host_, false, color_);
}

}  // namespace klog::formatters
