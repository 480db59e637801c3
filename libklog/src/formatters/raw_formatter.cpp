#include "klog/formatters/raw_formatter.hpp"

#include <algorithm>
#include <charconv>

#include "format_common.hpp"

namespace klog::formatters {

raw_formatter::raw_formatter(const format_options& options) : color_(options.color) {}

void raw_formatter::format(const record_view& record, const record_time& /*time*/,
                           std::string& out) const {
    const std::size_t start = out.size();
    // `<PRI>`, composed here and appended with the kernel prefix. Text never reaches inside
    // it: the one place a mark of klogd's own cannot be forged.
    char pri[detail::max_prefix_lead];
    char* p = pri;
    *p++ = '<';
    p = std::to_chars(p, pri + sizeof pri, static_cast<unsigned>(record.priority())).ptr;
    if (record.own) p = std::copy_n(",klogd", 6, p);
    if (record.pstore) p = std::copy_n(",pstore", 7, p);
    *p++ = '>';
    detail::append_kernel_prefix(out, record,
                                 std::string_view(pri, static_cast<std::size_t>(p - pri)));
    detail::append_prefixed_lines(out, start, out.size() - start, record.text, record, color_);
}

}  // namespace klog::formatters
