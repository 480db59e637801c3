#include "klog/symbols/kaslr.hpp"

#include <charconv>

namespace klog::symbols {

namespace {

// `0x<hex>` at the start of `s`; advances `s` past it.
std::optional<std::uint64_t> take_hex(std::string_view& s) noexcept {
    if (s.size() < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return std::nullopt;
    std::uint64_t value = 0;
    const char* first = s.data() + 2;
    const auto [ptr, ec] = std::from_chars(first, s.data() + s.size(), value, 16);
    if (ec != std::errc() || ptr == first) return std::nullopt;
    s.remove_prefix(static_cast<std::size_t>(ptr - s.data()));
    return value;
}

}  // namespace

std::optional<std::uint64_t> kaslr_offset(const kallsyms& running, const system_map& map) noexcept {
    const auto runtime = running.text_address();
    const auto link = map.text_address();
    if (!runtime || !link) return std::nullopt;
    return *runtime - *link;
}

std::optional<kernel_offset> parse_kernel_offset(std::string_view line) noexcept {
    static constexpr std::string_view marker = "Kernel Offset: ";
    const std::size_t pos = line.find(marker);
    if (pos == std::string_view::npos) return std::nullopt;
    std::string_view rest = line.substr(pos + marker.size());
    if (rest.substr(0, 8) == "disabled") return kernel_offset{};
    kernel_offset result;
    const auto offset = take_hex(rest);
    if (!offset) return std::nullopt;
    result.offset = *offset;
    static constexpr std::string_view from = " from ";
    if (rest.substr(0, from.size()) == from) {
        rest.remove_prefix(from.size());
        result.link_base = take_hex(rest);
    }
    return result;
}

}  // namespace klog::symbols
