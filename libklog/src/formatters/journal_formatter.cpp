#include "klog/formatters/journal_formatter.hpp"

#include <string>

#include "format_common.hpp"

namespace klog::formatters {

void journal_formatter::append_field(std::string& out, std::string_view name,
                                     std::string_view value) {
    out += name;
    if (value.find('\n') == std::string_view::npos) {
        out += '=';
        out += value;
    } else {
        out += '\n';
        auto size = static_cast<std::uint64_t>(value.size());
        for (int i = 0; i < 8; ++i, size >>= 8) out += static_cast<char>(size & 0xffU);
        out += value;
    }
    out += '\n';
}

void journal_formatter::format(const record_view& record, const record_time&,
                               std::string& out) const {
    const auto origin = record.origin();
    std::string number;
    const auto append_number = [&](std::string_view name, std::uint64_t value) {
        number.clear();
        detail::append_uint(number, value);
        append_field(out, name, number);
    };
    append_field(out, "MESSAGE", origin.message);
    append_number("PRIORITY", record.level);
    append_number("SYSLOG_FACILITY", record.facility);
    append_field(out, "SYSLOG_IDENTIFIER", origin.ident.empty() ? "unknown" : origin.ident);
    if (origin.pid) append_number("SYSLOG_PID", *origin.pid);
    if (record.seq) append_number("KERNEL_SEQNUM", *record.seq);
    if (record.ts_usec) append_number("KERNEL_TIMESTAMP_USEC", *record.ts_usec);
    if (!record.caller.empty()) append_field(out, "KERNEL_CALLER", record.caller);
    std::string name;
    for (const auto& e : record.dictionary) {
        name = "KERNEL_";
        for (const char c : e.key.substr(0, 57)) {  // field names are at most 64 bytes
            if (c >= 'a' && c <= 'z') {
                name += static_cast<char>(c - 'a' + 'A');
            } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') {
                name += c;
            } else {
                name += '_';
            }
        }
        append_field(out, name, e.value);
    }
    if (record.own) append_field(out, "KLOGD_OWN", "1");
    if (record.pstore) append_field(out, "KLOGD_PSTORE", "1");
    if (record.malformed) append_field(out, "KLOGD_MALFORMED", "1");
}

}  // namespace klog::formatters
