#include "klog/formatters/format_kind.hpp"

#include "klog/formatters/json_formatter.hpp"
#include "klog/formatters/raw_formatter.hpp"
#include "klog/formatters/rfc3164_formatter.hpp"
#include "klog/formatters/rfc5424_formatter.hpp"
#include "klog/formatters/traditional_formatter.hpp"

namespace klog::formatters {

namespace {

struct named_kind {
    std::string_view name;
    format_kind kind;
};

constexpr named_kind kinds[] = {
    {"traditional", format_kind::traditional},
    {"raw", format_kind::raw},
    {"json", format_kind::json},
    {"rfc3164", format_kind::rfc3164},
    {"rfc5424", format_kind::rfc5424},
};

}  // namespace

std::optional<format_kind> parse_format_kind(std::string_view name) noexcept {
    for (const auto& k : kinds) {
        if (k.name == name) return k.kind;
    }
    return std::nullopt;
}

std::string_view format_kind_names() noexcept { return "traditional, raw, json, rfc3164, rfc5424"; }

std::unique_ptr<formatter> make_formatter(format_kind kind, const format_options& options) {
    switch (kind) {
        case format_kind::traditional:
            return std::make_unique<traditional_formatter>(options);
        case format_kind::raw:
            return std::make_unique<raw_formatter>(options);
        case format_kind::json:
            return std::make_unique<json_formatter>(options);
        case format_kind::rfc3164:
            return std::make_unique<rfc3164_formatter>(options);
        case format_kind::rfc5424:
            return std::make_unique<rfc5424_formatter>(options);
    }
    return std::make_unique<traditional_formatter>(options);
}

}  // namespace klog::formatters
