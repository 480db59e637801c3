#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace klog::formatters {

/// Makes kernel bytes safe for a log line: a message can never forge a line, a field, or a
/// terminal escape sequence.
///
/// `append()` copies `text` to `out` and writes as `\xNN` (lowercase hex, as util-linux `dmesg`
/// does):
///  - bytes 0x00..0x1f except TAB (so '\n' and '\r' too), and DEL 0x7f;
///  - the backslash itself (`\x5c`), so that every `\xNN` in the output is an escape and the
///    kernel's own four characters `\x1b` can never read as an escaped ESC;
///  - every byte that does not belong to a well-formed UTF-8 sequence (stray continuation
///    bytes, C0/C1/F5..FF leads, overlong forms such as `\xc0\x80`, surrogates such as
///    `\xed\xa0\x80`, code points above U+10FFFF such as `\xf4\x90\x80\x80`, a sequence cut
///    short); only the offending lead byte is taken, so a valid character that follows a
///    truncated one is kept;
///  - both bytes of a UTF-8 encoded C1 control U+0080..U+009F (`\xc2\x9b` is a CSI).
/// Everything else is kept as it is: printable ASCII, TAB (it cannot end a line or start a
/// terminal sequence, and kernel text uses it for alignment) and valid UTF-8 (`é`, `€`, emoji).
/// The escaped output is valid UTF-8 and is_safe(); the text is recovered exactly by decoding
/// each `\xNN`.
///
/// Speed: 16 bytes at a time while nothing needs work; clean runs are appended whole.
class text_escaper {
  public:
    static void append(std::string& out, std::string_view text);
    /// append() of the bytes before the first '\n' of `text`; returns that newline's position,
    /// or npos when there is none (then all of `text` was appended).
    static std::size_t append_line(std::string& out, std::string_view text);
    [[nodiscard]] static std::string escape(std::string_view text);
    /// True when `append()` would copy `text` unchanged.
    [[nodiscard]] static bool is_clean(std::string_view text) noexcept;
    /// True when `text` is what `append()` may produce: valid UTF-8 with no control byte but
    /// TAB, no DEL and no C1 control (backslashes allowed).
    [[nodiscard]] static bool is_safe(std::string_view text) noexcept;
};

}  // namespace klog::formatters
