#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "klog/formatters/formatter.hpp"

namespace klog::formatters {

/// The output formats `--format=` names.
enum class format_kind {
    traditional,  ///< traditional_formatter (kern.log line)
    raw,          ///< raw_formatter (`<PRI>[secs.usecs] text`, classic `-f`)
    json,         ///< json_formatter
    rfc3164,      ///< rfc3164_formatter
    rfc5424,      ///< rfc5424_formatter
};

/// `traditional`, `raw`, `json`, `rfc3164`, `rfc5424` (exact, lowercase); nullopt otherwise.
[[nodiscard]] std::optional<format_kind> parse_format_kind(std::string_view name) noexcept;

/// All names, for `--help` and error messages: "traditional, raw, json, rfc3164, rfc5424".
[[nodiscard]] std::string_view format_kind_names() noexcept;

/// A new formatter of `kind` configured with `options`.
[[nodiscard]] std::unique_ptr<formatter> make_formatter(format_kind kind,
                                                        const format_options& options);

}  // namespace klog::formatters
