#include "klogd/delivery_report.hpp"

#include <iostream>

#include "klog/sources/replay_source.hpp"

namespace klogd {

bool report_delivery(const klog::pipeline& pipeline, bool one_shot, bool gave_up_reading) {
    bool complete = !gave_up_reading;
    for (const auto& out : pipeline.outputs()) {
        if (const auto dropped = out->counters().dropped; dropped != 0) {
            complete = false;
            std::cerr << "klogd: " << out->name() << ": " << dropped << " records dropped"
                      << (one_shot ? "" : " (each gap said in that output)") << '\n';
        }
        const auto lacking = out->unsafe();
        if (lacking != 0) {
            complete = false;
            const auto ec = out->last_error();
            std::cerr << "klogd: " << out->name() << ": " << lacking << " records not delivered"
                      << (ec ? " (" + ec.message() + ")" : std::string())
                      << (one_shot ? "" : "; they are read again from the kernel at the next start")
                      << '\n';
        } else if (const auto held = out->held(); !held.empty() && !out->idle()) {
            std::cerr << "klogd: " << out->name() << ": " << held
                      << " (sent when the collector is back)\n";
        }
    }
    return complete;
}

void report_counters(const klog::pipeline& pipeline, std::uint64_t cut_lines,
                     std::uint64_t cut_records, bool debug) {
    // Outputs: with -d, or when one dropped records or holds some.
    for (const auto& out : pipeline.outputs()) {
        const auto& n = out->counters();
        if (debug || n.dropped != 0 || out->queued() != 0) {
            std::cerr << "klogd: " << out->counters_line() << '\n';
        }
    }
    if (cut_lines != 0) {
        std::cerr << "klogd: " << cut_lines
                  << " lines longer than a kernel prints were cut at 8192 bytes\n";
    }
    if (cut_records != 0) {
        std::cerr << "klogd: " << cut_records << " saved records longer than "
                  << (klog::sources::replay_source::max_record >> 20)
                  << " MiB were cut there (the rest of each dropped)\n";
    }
    const auto& c = pipeline.counters();
    if (!debug && c.missed == 0 && c.malformed == 0) return;
    std::cerr << "klogd: " << c.records << " records delivered, " << c.missed << " missed, "
              << c.malformed << " malformed, " << c.duplicates << " already delivered, "
              << c.filtered << " below --min-level\n";
}

}  // namespace klogd
