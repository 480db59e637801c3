#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace klog::sinks {

/// How records are delimited on a stream transport (TCP, TLS).
enum class framing {
    /// RFC 6587 3.4.1 / RFC 5425 4.3: `LEN SP RECORD`, the record's bytes untouched
    /// (newlines included). The default.
    octet_counting,
    /// RFC 6587 3.4.2: `RECORD LF`. Every LF inside the record becomes the four characters
    /// `\x0a` (the escape the line formats use), so one record stays one frame.
    lf,
};

/// `octet` (also `octet-counting`) or `lf`; nullopt otherwise.
[[nodiscard]] std::optional<framing> parse_framing(std::string_view name) noexcept;

/// Appends `record` framed as `how` to `out`; returns the number of bytes appended.
std::size_t append_frame(framing how, std::string_view record, std::string& out);

}  // namespace klog::sinks
