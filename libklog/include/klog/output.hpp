#pragma once

#include <memory>

#include "klog/formatters/formatter.hpp"
#include "klog/sinks/sink.hpp"

namespace klog {

/// One destination: a sink and the formatter that writes for it.
struct output {
    std::unique_ptr<formatters::formatter> format;
    std::unique_ptr<sinks::sink> sink;
};

}  // namespace klog
