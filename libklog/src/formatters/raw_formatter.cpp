#include "klog/formatters/raw_formatter.hpp"

#include "format_common.hpp"

namespace klog::formatters {

raw_formatter::raw_formatter(const format_options& options) : color_(options.color) {}

void raw_formatter::format(const record_view& record, const record_time& /*time*/,
                           std::string& out) const {
    const std::size_t start = out.size();
    out += '<';
    detail::append_uint(out, static_cast<unsigned>(record.priority()));
    // Text never reaches inside `<PRI>`: the one place a mark of klogd's own cannot be forged.
    if (record.own) out.append(",klogd", 6);
    if (record.pstore) out.append(",pstore", 7);
    out += '>';
    detail::append_kernel_prefix(out, record);
    detail::append_prefixed_lines(out, start, out.size() - start, record.text, record, color_);
}

}  // namespace klog::formatters
