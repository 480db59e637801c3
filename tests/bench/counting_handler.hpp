#pragma once

#include <cstdint>

#include "klog/record_view.hpp"
#include "klog/sources/record_handler.hpp"

namespace klog_bench {

/// The least a reader of a source can do with its records: count them (and their texts' bytes,
/// so that each text is looked at, as any handler would). The bounds of issue 18: a source's
/// reading and decoding alone.
class counting_handler final : public klog::sources::record_handler {
  public:
    void on_record(const klog::record_view& record) override {
        ++records;
        bytes += record.text.size();
    }
    void on_event(klog::sources::source_event /*event*/) override {}
    std::uint64_t records = 0;
    std::uint64_t bytes = 0;
};

}  // namespace klog_bench
