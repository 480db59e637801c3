#pragma once

#include <string>
#include <string_view>

#include "klog/record_view.hpp"

namespace klog::decoders {

/// Decodes one `/dev/kmsg` record (Documentation/ABI/testing/dev-kmsg):
///
///     PRI,SEQ,TS[,FLAG[,FIELD...]];TEXT\n[ KEY=VALUE\n]...
///
/// - 3-field headers (Linux 3.5: no flag) and unknown extra fields are accepted; `caller=T123`
///   is taken from any extra field.
/// - PRI 0..2047 (facility up to 255), SEQ and TS are full u64.
/// - `\xNN` in text and dictionary values is unescaped; a malformed escape is kept literally.
/// - Dictionary lines (starting with a space) are never part of the text.
/// - A record clipped without its final '\n' keeps all its text.
/// - Bytes that do not parse as a record are returned whole as the text of a record with
///   `malformed` set (level 6, no seq): counted by the caller, never dropped.
///
/// Views in the result point into `bytes` or into `scratch`, which the decoder resizes once to
/// `bytes.size()`; both must outlive the result. Never throws on any input.
[[nodiscard]] record_view parse_kmsg_record(std::string_view bytes, std::string& scratch) noexcept;

/// The same into `out`, every field of which is set: a record reused from one call to the next
/// costs no clearing of the whole object, which a new one does for every record (GCC clears
/// its 120 bytes with `rep stos`, a fifth of the decoder's time). The sources use this form.
void parse_kmsg_record(std::string_view bytes, std::string& scratch, record_view& out) noexcept;

/// Appends the kmsg-unescaped form of `escaped` (`\xNN` → byte, malformed escapes kept) at
/// `out`, which must have room for `escaped.size()` bytes; returns the number written.
/// With `keep_newline`, an escaped '\n' (`\x0a`) is left escaped (dictionary values).
std::size_t kmsg_unescape(std::string_view escaped, char* out, bool keep_newline = false) noexcept;

}  // namespace klog::decoders
