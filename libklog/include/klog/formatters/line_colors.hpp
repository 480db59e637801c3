#pragma once

#include <cstdint>
#include <string_view>

namespace klog::formatters {

/// The colours of line output (`--color`, `format_options::color`): SGR escape sequences,
/// after util-linux `dmesg`'s scheme. Each line is
///
///     ESC[2m PREFIX ESC[0m [LEVEL TEXT ESC[0m] \n
///
/// PREFIX (wall time, host, tag, `<PRI>`, the kernel's `[secs.usecs]`) is dimmed; the escaped
/// text is in its level's colour, or in magenta for klogd's own records; a level without a
/// colour (info, debug) leaves the text plain. Every line ends in the terminal's normal
/// rendition: nothing opened on a line is left open after its '\n'. The sequences are only
/// ever written around text that text_escaper has already made safe (no ESC of the kernel's
/// can reach the output).
struct line_colors {
    static constexpr std::string_view reset = "\x1b[0m";
    /// Time stamps and the rest of the prefix: dim.
    static constexpr std::string_view prefix = "\x1b[2m";
    /// klogd's own records of level warning or worse (missed records, later incident
    /// reports): bold magenta, a colour no kernel level has.
    static constexpr std::string_view own = "\x1b[1;35m";
    /// klogd's own records of level notice to debug (which symbol tables it uses): magenta.
    static constexpr std::string_view own_info = "\x1b[35m";

    /// emerg, alert: bold white on red; crit: bold red; err: red; warning: bold yellow;
    /// notice: bold; info, debug: none (empty).
    [[nodiscard]] static constexpr std::string_view level(std::uint8_t level) noexcept {
        switch (level & 7U) {
            case 0:
            case 1:
                return "\x1b[1;37;41m";
            case 2:
                return "\x1b[1;31m";
            case 3:
                return "\x1b[31m";
            case 4:
                return "\x1b[1;33m";
            case 5:
                return "\x1b[1m";
            default:
                return {};
        }
    }

    /// The text colour of klogd's own record of `level`: `own` or `own_info`.
    [[nodiscard]] static constexpr std::string_view own_level(std::uint8_t level) noexcept {
        return (level & 7U) <= 4 ? own : own_info;
    }
};

}  // namespace klog::formatters
