#include "klog/incidents/incident.hpp"

#include "klog/formatters/json_formatter.hpp"

namespace klog::incidents {

namespace {

void json_string(std::string& out, std::string_view text) {
    out += '"';
    formatters::json_formatter::append_string_contents(out, text);
    out += '"';
}

void json_key(std::string& out, std::string_view key) {
    if (out.back() != '{') out += ',';
    json_string(out, key);
    out += ':';
}

void json_field(std::string& out, std::string_view key, std::string_view value) {
    json_key(out, key);
    json_string(out, value);
}

void json_number(std::string& out, std::string_view key, std::uint64_t value) {
    json_key(out, key);
    out += std::to_string(value);
}

void json_bool(std::string& out, std::string_view key, bool value) {
    json_key(out, key);
    out += value ? "true" : "false";
}

}  // namespace

std::string_view kind_name(incident_kind kind) noexcept {
    switch (kind) {
        case incident_kind::oops: return "oops";
        case incident_kind::bug: return "bug";
        case incident_kind::warning: return "warning";
        case incident_kind::panic: return "panic";
        case incident_kind::hung_task: return "hung_task";
        case incident_kind::soft_lockup: return "soft_lockup";
        case incident_kind::hard_lockup: return "hard_lockup";
        case incident_kind::rcu_stall: return "rcu_stall";
        case incident_kind::oom_kill: return "oom_kill";
    }
    return "oops";
}

std::string_view close_reason_name(close_reason reason) noexcept {
    switch (reason) {
        case close_reason::end: return "end";
        case close_reason::next: return "next";
        case close_reason::lines: return "lines";
        case close_reason::time: return "time";
        case close_reason::input: return "input";
    }
    return "end";
}

std::string incident::summary() const {
    std::string s = "incident ";
    s += kind_name(kind);
    if (repeat) s += " (repeat)";
    if (pstore) s += " (previous boot, pstore)";
    if (partial) s += " (partial: records lost)";
    s += ": ";
    s += title;
    if (kind == incident_kind::oom_kill && !victim_comm.empty()) {
        s += "; killed " + victim_comm;
        if (victim_pid) s += " (pid " + std::to_string(*victim_pid) + ')';
    }
    if (!function.empty()) {
        s += " in " + function;
        if (!module.empty()) s += " [" + module + ']';
    }
    std::string where;
    const auto add = [&where](const std::string& part) {
        if (!where.empty()) where += ", ";
        where += part;
    };
    if (cpu || pid || !comm.empty()) {
        std::string task;
        if (cpu) task = "CPU " + std::to_string(*cpu);
        if (pid) task += (task.empty() ? "PID " : " PID ") + std::to_string(*pid);
        if (!comm.empty()) task += (task.empty() ? "" : " ") + comm;
        add(task);
    }
    if (taint) add(taint->empty() ? std::string("not tainted") : "tainted " + *taint);
    if (first_seq && last_seq) {
        add("seq " + std::to_string(*first_seq) + ".." + std::to_string(*last_seq));
    }
    add("count " + std::to_string(count));
    add("signature " + signature);
    s += " (" + where + ')';
    return s;
}

void incident::append_json(std::string& out) const {
    out += '{';
    json_field(out, "kind", kind_name(kind));
    json_bool(out, "partial", partial);
    json_bool(out, "repeat", repeat);
    json_field(out, "origin", pstore ? "pstore" : "kernel");
    json_field(out, "closed_by", close_reason_name(closed_by));
    if (first_seq) json_number(out, "first_seq", *first_seq);
    if (last_seq) json_number(out, "last_seq", *last_seq);
    if (ts_usec) json_number(out, "ts_usec", *ts_usec);
    json_number(out, "records", records);
    json_field(out, "title", title);
    if (!detail.empty()) json_field(out, "detail", detail);
    if (cpu) json_number(out, "cpu", *cpu);
    if (pid) json_number(out, "pid", *pid);
    if (!comm.empty()) json_field(out, "comm", comm);
    if (taint) json_field(out, "tainted", *taint);
    if (!modules.empty()) {
        json_key(out, "modules");
        out += '[';
        for (std::size_t i = 0; i < modules.size(); ++i) {
            if (i != 0) out += ',';
            json_string(out, modules[i]);
        }
        out += ']';
    }
    if (!function.empty()) json_field(out, "function", function);
    if (!module.empty()) json_field(out, "module", module);
    if (!location.empty()) json_field(out, "location", location);
    if (!frames.empty()) {
        json_key(out, "frames");
        out += '[';
        for (std::size_t i = 0; i < frames.size(); ++i) {
            const auto& f = frames[i];
            if (i != 0) out += ',';
            out += '{';
            if (!f.function.empty()) json_field(out, "function", f.function);
            if (!f.module.empty()) json_field(out, "module", f.module);
            if (!f.address.empty()) json_field(out, "address", f.address);
            json_bool(out, "reliable", f.reliable);
            out += '}';
        }
        out += ']';
    }
    if (!kernel_offset.empty()) json_field(out, "kernel_offset", kernel_offset);
    if (victim_pid) json_number(out, "victim_pid", *victim_pid);
    if (!victim_comm.empty()) json_field(out, "victim_comm", victim_comm);
    if (blocked_seconds) json_number(out, "blocked_seconds", *blocked_seconds);
    json_field(out, "signature", signature);
    json_number(out, "count", count);
    out += '}';
}

}  // namespace klog::incidents
