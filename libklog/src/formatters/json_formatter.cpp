#include "klog/formatters/json_formatter.hpp"

#include "escape_engine.hpp"
#include "format_common.hpp"
#include "klog/incidents/incident.hpp"

namespace klog::formatters {

namespace {

void append_string(std::string& out, std::string_view text) {
    out += '"';
    json_formatter::append_string_contents(out, text);
    out += '"';
}

}  // namespace

json_formatter::json_formatter(const format_options& options) {
    if (!options.boot_id.empty()) {
        tail_ = ",\"boot_id\":";
        append_string(tail_, options.boot_id);
    }
    tail_ += ",\"host\":";
    append_string(tail_, options.hostname);
    tail_ += ",\"text\":\"";
}

void json_formatter::append_string_contents(std::string& out, std::string_view text) {
    detail::escape<detail::escape_mode::json>(out, text);
}

void json_formatter::format(const record_view& record, const record_time& time,
                            std::string& out) const {
    out.append("{\"time\":\"", 9);
    detail::append_rfc3339_utc(out, time.wall_usec);
    out.append(time.estimated ? "\",\"time_estimated\":true" : "\",\"time_estimated\":false");
    if (record.ts_usec) {
        out.append(",\"ts_usec\":", 11);
        detail::append_uint(out, *record.ts_usec);
    }
    if (record.seq) {
        out.append(",\"seq\":", 7);
        detail::append_uint(out, *record.seq);
    }
    out.append(",\"facility\":", 12);
    detail::append_uint(out, record.facility);
    out.append(",\"level\":", 9);
    detail::append_uint(out, record.level);
    out.append(",\"flag\":", 8);
    append_string(out, std::string_view(&record.flag, 1));
    if (!record.caller.empty()) {
        out.append(",\"caller\":", 10);
        append_string(out, record.caller);
    }
    const klog::origin origin = record.origin();
    out.append(",\"origin\":", 10);
    append_string(out, origin.ident.empty() ? std::string_view("kmsg") : origin.ident);
    if (origin.pid) {
        out.append(",\"pid\":", 7);
        detail::append_uint(out, *origin.pid);
    }
    if (!record.dictionary.empty()) {
        out.append(",\"dict\":{", 9);
        bool first = true;
        for (auto it = record.dictionary.begin(); it != record.dictionary.end(); ++it) {
            bool seen = false;  // duplicate keys: the first value wins, as in find()
            for (auto prev = record.dictionary.begin(); prev != it; ++prev) {
                if (prev->key == it->key) {
                    seen = true;
                    break;
                }
            }
            if (seen) continue;
            if (!first) out += ',';
            first = false;
            append_string(out, it->key);
            out += ':';
            append_string(out, it->value);
        }
        out += '}';
    }
    if (record.incident != nullptr) {
        out.append(",\"incident\":", 12);
        record.incident->append_json(out);
    }
    out += tail_;
    append_string_contents(out, origin.message);
    out.append("\"}\n", 3);
}

}  // namespace klog::formatters
