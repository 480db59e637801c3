#pragma once

// Internal to libklog's formatters: pieces shared by several formats.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "klog/formatters/formatter.hpp"
#include "klog/record_view.hpp"

namespace klog::formatters::detail {

void append_uint(std::string& out, std::uint64_t value);

/// Longest `lead` append_kernel_prefix composes with the prefix (a longer one is appended apart).
inline constexpr std::size_t max_prefix_lead = 24;

/// The kernel's own prefix after `<PRI>`: `[%5llu.%06llu]` when there is a time, `[%6s]` when
/// there is a caller, then one space if either was written (printk.c `info_print_prefix`).
/// `lead` (what goes before it: `<6>`, `kernel: `) is appended with it, in one piece.
void append_kernel_prefix(std::string& out, const record_view& record, std::string_view lead = {});

/// `2026-11-24T05:31:02.123456Z` (RFC 3339, UTC, microseconds); clamped to years 0000..9999.
void append_rfc3339_utc(std::string& out, std::int64_t wall_usec);

/// `Nov  4 05:31:02` in local time (RFC 3164 TIMESTAMP; English month names whatever the
/// locale; day of month space-padded).
void append_syslog_local_time(std::string& out, std::int64_t wall_usec);

/// `s` with every byte outside printable US-ASCII 33..126 replaced by '_', cut to `max_len`
/// bytes (RFC 5424 HOSTNAME / APP-NAME / PROCID syntax). Empty stays empty.
[[nodiscard]] std::string printable_token(std::string_view s, std::size_t max_len);

/// PRI for syslog wire formats, which only know facilities 0..23 (PRIVAL <= 191): a facility
/// above 23 (only userspace writers of /dev/kmsg can produce one) is sent as 1 (user).
[[nodiscard]] unsigned wire_priority(const record_view& record) noexcept;

/// Writes `text` as lines: the prefix that the caller has already put at
/// `out[prefix_pos, prefix_pos + prefix_len)` starts the first line and is repeated before each
/// further line; every line is escaped with text_escaper and ends with '\n'. Splits on every
/// '\n' as the kernel's `record_print_text()` does, so an empty text gives one line and a
/// trailing newline gives a last, empty line.
/// With `color` (format_options::color), every line is coloured as line_colors says for
/// `record`: the prefix dimmed, the escaped text in the colour of the record's level (or of
/// klogd's own records), reset before each '\n'.
void append_prefixed_lines(std::string& out, std::size_t prefix_pos, std::size_t prefix_len,
                           std::string_view text, const record_view& record, bool color);

/// The syslog TAG and what precedes the message: `kernel: ` plus the kernel prefix
/// (`[    4.836489] `, `[    T1] `) for kernel records; `klogd: ` for klogd's own records;
/// `ident[pid]: ` / `ident: ` (ident escaped with text_escaper), or `kmsg: ` when there is no
/// tag (or it claims `kernel` or `klogd`), for userspace records. Only the kernel's records
/// can carry the tag `kernel:`, only klogd's own the tag `klogd:`.
/// Returns the message that follows the tag: the whole text, or `origin.message`.
std::string_view append_syslog_tag(std::string& out, const record_view& record);

/// The traditional / rfc3164 line(s): `[<PRI>]Mmm dd hh:mm:ss [HOST ]TAG: [prefix ]text\n`.
/// `host` is already sanitized; empty means the field is left out.
/// `color`: as append_prefixed_lines.
void append_syslog_lines(std::string& out, const record_view& record, const record_time& time,
                         std::string_view host, bool with_pri, bool color);

}  // namespace klog::formatters::detail
