#pragma once

#include <optional>
#include <string_view>

namespace klog::formatters {

/// When line output is coloured (`--color=`), as util-linux `dmesg --color=WHEN`.
enum class color_mode {
    automatic,  ///< `auto`: only a terminal, with TERM set and not `dumb`, and NO_COLOR unset
    always,     ///< `always`: also a file or a pipe (e.g. `| less -R`)
    never,      ///< `never`
};

/// `auto`, `always`, `never` (exact, lowercase); nullopt otherwise.
[[nodiscard]] std::optional<color_mode> parse_color_mode(std::string_view name) noexcept;

/// Whether an output is coloured, decided once when it is opened: `always` yes, `never` no;
/// `automatic` only when the output is a terminal (`terminal`: isatty), `term` (the TERM
/// variable, nullptr when unset) is set, not empty and not `dumb`, and `no_color` (the
/// NO_COLOR variable, https://no-color.org) is unset or empty.
[[nodiscard]] bool color_wanted(color_mode mode, bool terminal, const char* term,
                                const char* no_color) noexcept;

}  // namespace klog::formatters
