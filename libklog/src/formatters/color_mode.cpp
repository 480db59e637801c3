#include "klog/formatters/color_mode.hpp"

namespace klog::formatters {

std::optional<color_mode> parse_color_mode(std::string_view name) noexcept {
    if (name == "auto") return color_mode::automatic;
    if (name == "always") return color_mode::always;
    if (name == "never") return color_mode::never;
    return std::nullopt;
}

bool color_wanted(color_mode mode, bool terminal, const char* term, const char* no_color) noexcept {
    switch (mode) {
        case color_mode::always:
            return true;
        case color_mode::never:
            return false;
        case color_mode::automatic:
            break;
    }
    if (!terminal) return false;
    if (no_color != nullptr && *no_color != '\0') return false;
    if (term == nullptr) return false;
    const std::string_view t(term);
    return !t.empty() && t != "dumb";
}

}  // namespace klog::formatters
