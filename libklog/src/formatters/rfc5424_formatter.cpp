#include "klog/formatters/rfc5424_formatter.hpp"

#include "escape_engine.hpp"
#include "format_common.hpp"
#include "klog/formatters/text_escaper.hpp"
#include "klog/incidents/incident.hpp"

namespace klog::formatters {

namespace {

constexpr std::size_t max_hostname = 255;
constexpr std::size_t max_app_name = 48;

void append_nil_or(std::string& out, std::string_view token) {
    if (token.empty()) {
        out += '-';
    } else {
        out += token;
    }
}

/// ` NAME="VALUE"` of an SD element, the value escaped (RFC 5424 PARAM-VALUE).
void sd_param(std::string& out, std::string_view name, std::string_view value) {
    out += ' ';
    out += name;
    out.append("=\"", 2);
    detail::escape<detail::escape_mode::sd_param>(out, value);
    out += '"';
}

void sd_number(std::string& out, std::string_view name, std::uint64_t value) {
    out += ' ';
    out += name;
    out.append("=\"", 2);
    detail::append_uint(out, value);
    out += '"';
}

}  // namespace

rfc5424_formatter::rfc5424_formatter(const format_options& options)
    : host_(detail::printable_token(options.hostname, max_hostname)),
      line_mode_(options.line_mode) {
    if (host_.empty()) host_.assign(1, '-');  // (not `= "-"`: GCC 12 -O3 warns -Wrestrict)
    if (!options.boot_id.empty()) {
        boot_param_ = " boot=\"";
        append_param_value(boot_param_, options.boot_id);
        boot_param_ += '"';
    }
}

void rfc5424_formatter::append_param_value(std::string& out, std::string_view value) {
    detail::escape<detail::escape_mode::sd_param>(out, value);
}

void rfc5424_formatter::append_incident(std::string& out, const incidents::incident& i) {
    out += '[';
    out += incident_sd_id;
    const auto param = [&out](std::string_view name, std::string_view value) {
        sd_param(out, name, value);
    };
    const auto number = [&out](std::string_view name, std::uint64_t value) {
        sd_number(out, name, value);
    };
    param("kind", incidents::kind_name(i.kind));
    if (i.partial) param("partial", "1");
    if (i.repeat) param("repeat", "1");
    if (i.pstore) param("origin", "pstore");
    param("closed_by", incidents::close_reason_name(i.closed_by));
    if (i.first_seq) number("first_seq", *i.first_seq);
    if (i.last_seq) number("last_seq", *i.last_seq);
    if (i.ts_usec) number("ts", *i.ts_usec);
    param("title", i.title);
    if (!i.detail.empty()) param("detail", i.detail);
    if (i.cpu) number("cpu", *i.cpu);
    if (i.pid) number("pid", *i.pid);
    if (!i.comm.empty()) param("comm", i.comm);
    if (i.taint) param("tainted", *i.taint);
    if (!i.function.empty()) param("function", i.function);
    if (!i.module.empty()) param("module", i.module);
    if (!i.location.empty()) param("location", i.location);
    if (!i.modules.empty()) {
        std::string list;
        for (const auto& m : i.modules) {
            if (!list.empty()) list += ' ';
            list += m;
        }
        param("modules", list);
    }
    if (!i.frames.empty()) {
        std::string list;
        for (const auto& f : i.frames) {
            if (!list.empty()) list += ' ';
            if (!f.reliable) list += "? ";
            list += f.function.empty() ? "0x" + f.address : f.function;
            if (!f.module.empty()) list += " [" + f.module + ']';
            if (&f != &i.frames.back()) list += " <";
        }
        param("frames", list);
    }
    if (!i.kernel_offset.empty()) param("kernel_offset", i.kernel_offset);
    if (i.victim_pid) number("victim_pid", *i.victim_pid);
    if (!i.victim_comm.empty()) param("victim_comm", i.victim_comm);
    if (i.blocked_seconds) number("blocked_seconds", *i.blocked_seconds);
    param("signature", i.signature);
    number("count", i.count);
    out += ']';
}

void rfc5424_formatter::format(const record_view& record, const record_time& time,
                               std::string& out) const {
    out += '<';
    detail::append_uint(out, detail::wire_priority(record));
    out.append(">1 ", 3);
    detail::append_rfc3339_utc(out, time.wall_usec);
    out += ' ';
    out += host_;
    out += ' ';

    const klog::origin origin = record.origin();
    if (record.own) {
        out.append("klogd - ", 8);
    } else if (record.from_kernel()) {
        out.append("kernel - ", 9);
    } else {
        append_nil_or(out, detail::printable_token(origin.ident, max_app_name));
        out += ' ';
        if (origin.pid) {
            detail::append_uint(out, *origin.pid);
            out += ' ';
        } else {
            out.append("- ", 2);
        }
    }
    out.append("- ", 2);  // MSGID

    const std::size_t sd_start = out.size();
    out += '[';
    out += sd_id;
    const std::size_t sd_empty = out.size();
    const auto param = [&out](std::string_view name, std::string_view value) {
        sd_param(out, name, value);
    };
    const auto number_param = [&out](std::string_view name, std::uint64_t value) {
        sd_number(out, name, value);
    };
    if (record.seq) number_param("seq", *record.seq);
    if (record.ts_usec) number_param("ts", *record.ts_usec);
    if (!record.caller.empty()) param("caller", record.caller);
    out += boot_param_;
    if (const auto subsystem = record.dictionary.find("SUBSYSTEM")) param("subsystem", *subsystem);
    if (const auto device = record.dictionary.find("DEVICE")) param("device", *device);
    if (time.estimated) out.append(" estimated=\"1\"", 14);
    if (record.facility > 23) number_param("facility", record.facility);
    if (out.size() == sd_empty) {
        out.resize(sd_start);
    } else {
        out += ']';
    }
    if (record.incident != nullptr) append_incident(out, *record.incident);
    if (out.size() == sd_start) out += '-';

    if (!origin.message.empty()) {
        out += ' ';
        if (line_mode_) {
            text_escaper::append(out, origin.message);
        } else {
            out += origin.message;
        }
    }
    if (line_mode_) out += '\n';
}

}  // namespace klog::formatters
