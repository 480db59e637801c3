#include "klog/formatters/text_escaper.hpp"

#include "escape_engine.hpp"

namespace klog::formatters {

void text_escaper::append(std::string& out, std::string_view text) {
    detail::escape<detail::escape_mode::line>(out, text);
}

std::size_t text_escaper::append_line(std::string& out, std::string_view text) {
    return detail::escape<detail::escape_mode::line, true>(out, text);
}

std::string text_escaper::escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    append(out, text);
    return out;
}

namespace {

/// The byte rules of text_escaper::append(), the backslash counted as plain when
/// `backslash_ok`.
template <bool backslash_ok>
bool scan(std::string_view text) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    std::size_t i = 0;
    while ((i = detail::next_look<detail::escape_mode::line>(p, n, i)) < n) {
        const unsigned char c = p[i];
        if (c < 0x80) {
            if (detail::is_special_ascii<detail::escape_mode::line>(c) &&
                !(backslash_ok && c == '\\')) {
                return false;
            }
            ++i;
            continue;
        }
        const std::size_t len = detail::utf8_sequence_length(p + i, n - i);
        if (len == 0 || (len == 2 && c == 0xc2 && p[i + 1] < 0xa0)) return false;
        i += len;
    }
    return true;
}

}  // namespace

bool text_escaper::is_clean(std::string_view text) noexcept { return scan<false>(text); }

bool text_escaper::is_safe(std::string_view text) noexcept { return scan<true>(text); }

}  // namespace klog::formatters
