#include "klog/dictionary_view.hpp"

namespace klog {

dictionary_view::iterator::iterator(std::string_view rest, std::size_t count) noexcept
    : rest_(rest), remaining_(count) {
    load();
}

void dictionary_view::iterator::load() noexcept {
    if (remaining_ == 0) return;
    const auto nl = rest_.find('\n');
    const std::string_view line = rest_.substr(0, nl);
    const auto eq = line.find('=');
    current_.key = line.substr(0, eq);
    current_.value = eq == std::string_view::npos ? std::string_view{} : line.substr(eq + 1);
    rest_ = nl == std::string_view::npos ? std::string_view{} : rest_.substr(nl + 1);
}

dictionary_view::iterator& dictionary_view::iterator::operator++() noexcept {
    if (remaining_ > 0) {
        --remaining_;
        load();
    }
    return *this;
}

std::optional<std::string_view> dictionary_view::find(std::string_view key) const noexcept {
    for (const auto& e : *this) {
        if (e.key == key) return e.value;
    }
    return std::nullopt;
}

}  // namespace klog
