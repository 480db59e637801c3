#include "klog/sinks/framing.hpp"

namespace klog::sinks {

std::optional<framing> parse_framing(std::string_view name) noexcept {
    if (name == "octet" || name == "octet-counting") return framing::octet_counting;
    if (name == "lf") return framing::lf;
    return std::nullopt;
}

std::size_t append_frame(framing how, std::string_view record, std::string& out) {
    const auto before = out.size();
    if (how == framing::octet_counting) {
        out += std::to_string(record.size());
        out += ' ';
        out += record;
        return out.size() - before;
    }
    for (;;) {
        const auto nl = record.find('\n');
        out += record.substr(0, nl);
        if (nl == std::string_view::npos) break;
        out += "\\x0a";
        record.remove_prefix(nl + 1);
    }
    out += '\n';
    return out.size() - before;
}

}  // namespace klog::sinks
