#pragma once

#include <chrono>
#include <cstdint>

#include "klog/pipeline.hpp"

namespace klogd {

/// At the end of `-o` or of the daemon, on standard error: one line per output that dropped
/// records, lacks some (and why; the daemon reads them again at its next start) or holds some
/// in a spool (why reading stopped, if it did, was said when it stopped: the output may have
/// drained since). False when some record did not reach some output or reading stopped.
bool report_delivery(const klog::pipeline& pipeline, bool one_shot, bool gave_up_reading);

/// The counters, on standard error: each output's with -d or when it dropped or holds records;
/// lines cut by the source (`cut_lines`); the pipeline's with -d or when records were missed or
/// malformed.
void report_counters(const klog::pipeline& pipeline, std::uint64_t cut_lines,
                     std::uint64_t cut_records, bool debug);

}  // namespace klogd
