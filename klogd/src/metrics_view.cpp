#include "klogd/metrics_view.hpp"

#include <unistd.h>

#include <array>
#include <fstream>
#include <string_view>

#include "klog/metrics/exposition.hpp"

namespace klogd {

namespace {

constexpr std::array<std::string_view, 8> levels{"emerg", "alert",  "crit", "err",
                                                 "warning", "notice", "info", "debug"};
constexpr std::array<std::string_view, 25> facilities{
    "kern",   "user",   "mail",   "daemon", "auth",     "syslog",  "lpr",    "news",  "uucp",
    "cron",   "authpriv", "ftp",  "ntp",    "security", "console", "clock",  "local0",
    "local1", "local2", "local3", "local4", "local5",   "local6",  "local7", "other"};

std::uint64_t resident_bytes() {
    std::ifstream in("/proc/self/statm");
    std::uint64_t size = 0, resident = 0;
    if (!(in >> size >> resident)) return 0;
    return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

std::string metrics_view::render() const {
    klog::metrics::exposition e;
    if (pipeline != nullptr) {
        const auto& c = pipeline->counters();
        e.family("klogd_records_total", "counter",
                 "Records delivered to the outputs, by level and facility (facility other: "
                 "above local7, only userspace writers of /dev/kmsg make them).");
        for (std::size_t f = 0; f < facilities.size(); ++f) {
            for (std::size_t l = 0; l < levels.size(); ++l) {
                const auto n = c.by_facility_level[f][l];
                if (n == 0 && !(f == 0 && l == 6)) continue;  // kern/info always present
                e.sample("klogd_records_total", {{"level", levels[l]}, {"facility", facilities[f]}}, n);
            }
        }
        e.family("klogd_missed_records_total", "counter",
                 "Kernel records lost before klogd read them (sequence gaps: ring overruns).");
        e.sample("klogd_missed_records_total", {}, c.missed);
        e.family("klogd_malformed_records_total", "counter",
                 "Records that did not parse; delivered as text.");
        e.sample("klogd_malformed_records_total", {}, c.malformed);
        e.family("klogd_filtered_records_total", "counter", "Records below --min-level: read, not delivered.");
        e.sample("klogd_filtered_records_total", {}, c.filtered);
        e.family("klogd_source_overruns_total", "counter", "EPIPE from /dev/kmsg: the reader fell behind the ring.");
        e.sample("klogd_source_overruns_total", {}, c.overruns);

        e.family("klogd_output_records_total", "counter",
                 "Per output: records written or sent (sent; resends counted again), written to "
                 "the disk spool (spooled), dropped by a full drop output (dropped), sent again "
                 "after a broken connection (resent).");
        for (const auto& out : pipeline->outputs()) {
            const auto& n = out->counters();
            const std::string name = out->name();
            e.sample("klogd_output_records_total", {{"output", name}, {"state", "sent"}}, n.written);
            e.sample("klogd_output_records_total", {{"output", name}, {"state", "spooled"}}, n.spooled);
            e.sample("klogd_output_records_total", {{"output", name}, {"state", "dropped"}}, n.dropped);
            e.sample("klogd_output_records_total", {{"output", name}, {"state", "resent"}}, n.resent);
        }
        e.family("klogd_output_queue_records", "gauge",
                 "Per output: records taken and not yet safe there (memory and spool).");
        for (const auto& out : pipeline->outputs()) {
            e.sample("klogd_output_queue_records", {{"output", out->name()}},
                     static_cast<std::uint64_t>(out->unsafe()));
        }
    }
    if (incidents != nullptr) {
        const auto& c = incidents->counters();
        e.family("klogd_incidents_total", "counter",
                 "Kernel incidents (Oops, BUG, WARNING, panic, hung task, lockups, RCU stall, OOM "
                 "kill) seen by this klogd, repeats of a signature included.");
        for (int k = 0; k < klog::incidents::incident_kind_count; ++k) {
            e.sample("klogd_incidents_total",
                     {{"kind", klog::incidents::kind_name(static_cast<klog::incidents::incident_kind>(k))}},
                     c.by_kind[k]);
        }
        e.family("klogd_last_incident_timestamp_seconds", "gauge",
                 "When the last incident of a kind was seen (Unix time).");
        for (int k = 0; k < klog::incidents::incident_kind_count; ++k) {
            if (c.last_unix_usec[k] == 0) continue;
            e.sample("klogd_last_incident_timestamp_seconds",
                     {{"kind", klog::incidents::kind_name(static_cast<klog::incidents::incident_kind>(k))}},
                     static_cast<double>(c.last_unix_usec[k]) / 1e6);
        }
    }
    if (rules != nullptr && !rules->empty()) {
        e.family("klogd_rule_matches_total", "counter", "Records each --rules rule matched.");
        for (const auto& r : rules->rules()) {
            e.sample("klogd_rule_matches_total", {{"rule", r.name}}, r.matches);
        }
        bool any = false;
        for (const auto& r : rules->rules()) any = any || r.condition.has_value();
        if (any) {
            e.family("klogd_rule_condition", "gauge",
                     "1 while a condition rule matched less than its quiet period ago, else 0.");
            for (const auto& r : rules->rules()) {
                if (!r.condition) continue;
                e.sample("klogd_rule_condition", {{"rule", r.name}},
                         static_cast<std::uint64_t>(rules->condition_set(r) ? 1 : 0));
            }
        }
    }
    e.family("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch in seconds.");
    e.sample("process_start_time_seconds", {}, start_time_seconds);
    e.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    e.sample("process_resident_memory_bytes", {}, resident_bytes());
    return e.text();
}

}  // namespace klogd
