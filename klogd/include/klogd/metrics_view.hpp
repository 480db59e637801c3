#pragma once

#include <cstdint>
#include <string>

#include "klog/incidents/incident_stage.hpp"
#include "klog/metrics/rule_set.hpp"
#include "klog/pipeline.hpp"

namespace klogd {

/// What `/metrics` and `--metrics-file` show (README "Metrics"): the Prometheus exposition of
/// the pipeline's counters, each output's, the incidents', the rules' and the process's own.
/// Counters start at 0 with every start (Prometheus takes that as a reset); records a restart
/// reads again and skips are not counted twice.
struct metrics_view {
    const klog::pipeline* pipeline = nullptr;
    const klog::incidents::incident_stage* incidents = nullptr;
    const klog::metrics::rule_set* rules = nullptr;
    double start_time_seconds = 0;

    [[nodiscard]] std::string render() const;
};

}  // namespace klogd
