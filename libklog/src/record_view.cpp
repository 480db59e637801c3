#include "klog/record_view.hpp"

#include <charconv>

namespace klog {

namespace {

/// Idents only the kernel and klogd itself may carry: a userspace writer claiming one would
/// print exactly like them.
bool reserved_ident(std::string_view ident) noexcept {
    return ident == "kernel" || ident == "klogd" || ident == "pstore";
}

}  // namespace

klog::origin record_view::origin() const noexcept {
    klog::origin o;
    o.message = text;
    if (own) {
        o.ident = "klogd";
        constexpr std::string_view tag = "klogd: ";
        if (text.starts_with(tag)) o.message = text.substr(tag.size());
        return o;
    }
    if (from_kernel()) {
        o.ident = "kernel";
        return o;
    }
    if (pstore) {
        // The previous boot's records, kernel and userspace alike: marked, the text whole.
        o.ident = "pstore";
        return o;
    }
    // Userspace writes to /dev/kmsg as syslog does: `ident[pid]: message` or `ident: message`.
    const auto colon = text.find(": ");
    if (colon == std::string_view::npos || colon == 0) return o;
    std::string_view tag = text.substr(0, colon);
    if (tag.find_first_of(" \t") != std::string_view::npos) return o;
    std::optional<std::uint32_t> pid;
    if (tag.back() == ']') {
        const auto open = tag.rfind('[');
        if (open == std::string_view::npos || open == 0) return o;
        const std::string_view digits = tag.substr(open + 1, tag.size() - open - 2);
        std::uint32_t value = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty()) return o;
        pid = value;
        tag = tag.substr(0, open);
    } else if (tag.find_first_of("[]") != std::string_view::npos) {
        return o;
    }
    if (reserved_ident(tag)) return o;
    o.ident = tag;
    o.pid = pid;
    o.message = text.substr(colon + 2);
    return o;
}

record_view own_notice(std::string_view text, std::uint8_t level) noexcept {
    record_view own;
    own.level = level;
    own.text = text;
    own.own = true;
    return own;
}

}  // namespace klog
