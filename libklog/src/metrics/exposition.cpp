#include "klog/metrics/exposition.hpp"

#include <cmath>
#include <cstdio>

namespace klog::metrics {

void exposition::family(std::string_view name, std::string_view type, std::string_view help) {
    text_ += "# HELP ";
    text_ += name;
    text_ += ' ';
    for (const char c : help) {  // HELP escapes only backslash and newline
        if (c == '\\') {
            text_ += "\\\\";
        } else if (c == '\n') {
            text_ += "\\n";
        } else {
            text_ += c;
        }
    }
    text_ += "\n# TYPE ";
    text_ += name;
    text_ += ' ';
    text_ += type;
    text_ += '\n';
}

void exposition::begin(std::string_view name, std::initializer_list<label> labels) {
    text_ += name;
    if (labels.size() == 0) return;
    text_ += '{';
    bool first = true;
    for (const auto& [key, value] : labels) {
        if (!first) text_ += ',';
        first = false;
        text_ += key;
        text_ += "=\"";
        for (const char c : value) {
            if (c == '\\') {
                text_ += "\\\\";
            } else if (c == '"') {
                text_ += "\\\"";
            } else if (c == '\n') {
                text_ += "\\n";
            } else {
                text_ += c;
            }
        }
        text_ += '"';
    }
    text_ += '}';
}

void exposition::sample(std::string_view name, std::initializer_list<label> labels,
                        std::uint64_t value) {
    begin(name, labels);
    text_ += ' ';
    text_ += std::to_string(value);
    text_ += '\n';
}

void exposition::sample(std::string_view name, std::initializer_list<label> labels, double value) {
    begin(name, labels);
    char buf[64];
    if (std::isnan(value)) {
        std::snprintf(buf, sizeof buf, " NaN\n");
    } else if (std::isinf(value)) {
        std::snprintf(buf, sizeof buf, value > 0 ? " +Inf\n" : " -Inf\n");
    } else {
        std::snprintf(buf, sizeof buf, " %.17g\n", value);
    }
    text_ += buf;
}

}  // namespace klog::metrics
