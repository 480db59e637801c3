#pragma once

// Internal to libklog's formatters: the one byte scanner behind every escaping rule
// (text_escaper for line formats, JSON strings, RFC 5424 SD-PARAM values).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "klog/text/byte_blocks.hpp"

namespace klog::formatters::detail {

/// In every mode a backslash of the text is written as the escape `\x5c` (in the output
/// syntax: `\\x5c` in JSON and PARAM-VALUEs), so that, once the output syntax is decoded, a
/// `\xNN` always stands for one byte klogd escaped and never for the text's own four characters.
enum class escape_mode {
    line,      ///< text_escaper: controls but TAB, DEL, `\`, invalid UTF-8, C1 -> `\xNN`
    json,      ///< RFC 8259 string contents; `\` and invalid UTF-8 -> the characters `\xNN`
    sd_param,  ///< RFC 5424 PARAM-VALUE: `"` `]` escaped, the rest as `line` (as `\\xNN`)
};

/// Length (2..4) of the well-formed UTF-8 sequence (Unicode Table 3-7) starting at `p[0]`, a byte
/// >= 0x80, or 0 when it does not start one: stray continuation byte, C0/C1/F5..FF lead,
/// overlong form, surrogate (U+D800..U+DFFF), beyond U+10FFFF, or truncated by `avail`.
inline std::size_t utf8_sequence_length(const unsigned char* p, std::size_t avail) noexcept {
    const unsigned c = p[0];
    const auto cont = [p, avail](std::size_t k, unsigned lo, unsigned hi) noexcept {
        return k < avail && p[k] >= lo && p[k] <= hi;
    };
    if (c < 0xc2) return 0;
    if (c <= 0xdf) return cont(1, 0x80, 0xbf) ? 2 : 0;
    if (c <= 0xef) {
        const unsigned lo = c == 0xe0 ? 0xa0 : 0x80;
        const unsigned hi = c == 0xed ? 0x9f : 0xbf;
        return cont(1, lo, hi) && cont(2, 0x80, 0xbf) ? 3 : 0;
    }
    if (c <= 0xf4) {
        const unsigned lo = c == 0xf0 ? 0x90 : 0x80;
        const unsigned hi = c == 0xf4 ? 0x8f : 0xbf;
        return cont(1, lo, hi) && cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf) ? 4 : 0;
    }
    return 0;
}

inline constexpr char hex_digits[] = "0123456789abcdef";

/// ASCII bytes (< 0x80) that `M` must rewrite.
template <escape_mode M>
constexpr bool is_special_ascii(unsigned char c) noexcept {
    const bool control = (c < 0x20 && c != '\t') || c == 0x7f;
    switch (M) {
        case escape_mode::line:
            return control || c == '\\';
        case escape_mode::json:
            return c < 0x20 || c == 0x7f || c == '"' || c == '\\';
        case escape_mode::sd_param:
            return control || c == '"' || c == '\\' || c == ']';
    }
    return true;
}

/// Each byte of `x` that `M` must look at is set: bytes outside 0x20..0x7e (as signed bytes,
/// 0x80..0xff are below 0x20 too) and the mode's punctuation. TAB is plain but rare; it is
/// looked at and kept.
template <escape_mode M>
inline text::block16 needs_look(text::block16 x) noexcept {
    text::block16 look = (x < 0x20) | (x == 0x7f) | (x == '\\');
    if constexpr (M == escape_mode::json || M == escape_mode::sd_param) look |= x == '"';
    if constexpr (M == escape_mode::sd_param) look |= x == ']';
    return look;
}

/// The position of the first byte of `p[i, n)` that `M` must look at, or `n`.
template <escape_mode M>
inline std::size_t next_look(const unsigned char* p, std::size_t n, std::size_t i) noexcept {
    return text::find_marked(reinterpret_cast<const char*>(p), n, i, needs_look<M>);
}

/// `\xNN`, or `\\xNN` where a backslash is itself an escape character of the output syntax.
template <escape_mode M>
inline void append_hex_byte(std::string& out, unsigned char c) {
    const char esc[] = {'\\', '\\', 'x', hex_digits[c >> 4], hex_digits[c & 0xf]};
    if constexpr (M == escape_mode::line) {
        out.append(esc + 1, 4);
    } else {
        out.append(esc, 5);
    }
}

template <escape_mode M>
inline void append_ascii_escape(std::string& out, unsigned char c) {
    if constexpr (M == escape_mode::line) {
        append_hex_byte<M>(out, c);
    } else if constexpr (M == escape_mode::json) {
        switch (c) {
            case '"':
                out.append("\\\"", 2);
                return;
            case '\\':
                append_hex_byte<M>(out, c);
                return;
            case '\n':
                out.append("\\n", 2);
                return;
            case '\t':
                out.append("\\t", 2);
                return;
            default: {
                const char esc[] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 0xf]};
                out.append(esc, 6);
                return;
            }
        }
    } else {
        if (c == '"' || c == ']') {
            const char esc[] = {'\\', static_cast<char>(c)};
            out.append(esc, 2);
        } else {
            append_hex_byte<M>(out, c);
        }
    }
}

/// Appends `text` to `out` escaped per `M`. Runs of bytes that need nothing are appended whole.
/// With `to_newline` (line mode), only the bytes before the first '\n' are appended, and the
/// newline's position is returned (npos when there is none), found by the same scan.
template <escape_mode M, bool to_newline = false>
std::size_t escape(std::string& out, std::string_view text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    std::size_t run = 0;  // start of the pending run of bytes kept as they are
    std::size_t i = 0;
    const auto flush = [&] { out.append(text.data() + run, i - run); };
    while ((i = next_look<M>(p, n, i)) < n) {
        const unsigned char c = p[i];
        if (c < 0x80) {
            if constexpr (to_newline) {
                if (c == '\n') {
                    flush();
                    return i;
                }
            }
            if (is_special_ascii<M>(c)) {
                flush();
                append_ascii_escape<M>(out, c);
                run = i + 1;
            }
            ++i;
            continue;
        }
        const std::size_t len = utf8_sequence_length(p + i, n - i);
        if (len == 0) {
            // Only the first byte of a bad sequence: what follows is judged on its own, so a
            // valid character right after a truncated one is kept.
            flush();
            append_hex_byte<M>(out, c);
            run = ++i;
            continue;
        }
        if (len == 2 && c == 0xc2 && p[i + 1] < 0xa0) {  // C1 control U+0080..U+009F
            flush();
            if constexpr (M == escape_mode::json) {
                const unsigned char cp = p[i + 1];
                const char esc[] = {'\\', 'u', '0', '0', hex_digits[cp >> 4], hex_digits[cp & 0xf]};
                out.append(esc, 6);
            } else {
                append_hex_byte<M>(out, c);
                append_hex_byte<M>(out, p[i + 1]);
            }
            i += 2;
            run = i;
            continue;
        }
        if constexpr (M == escape_mode::json) {
            // U+2028 / U+2029 are valid JSON but end a line in JavaScript.
            if (len == 3 && c == 0xe2 && p[i + 1] == 0x80 && (p[i + 2] & 0xfe) == 0xa8) {
                flush();
                out.append(p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
                i += 3;
                run = i;
                continue;
            }
        }
        i += len;
    }
    flush();
    return std::string_view::npos;
}

}  // namespace klog::formatters::detail
