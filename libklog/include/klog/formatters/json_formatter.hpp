#pragma once

#include <string>
#include <string_view>

#include "klog/formatters/formatter.hpp"

namespace klog::formatters {

/// One JSON object per record on one line, followed by '\n' (JSON Lines):
///
///     {"time":"2026-11-24T05:31:02.123456Z","time_estimated":false,"ts_usec":4836489,
///      "seq":376,"facility":0,"level":6,"flag":"-","caller":"T1","origin":"kernel",
///      "dict":{"SUBSYSTEM":"pci","DEVICE":"+pci:0000:00:00.0"},"boot_id":"...",
///      "host":"h","text":"..."}
///
/// (one line, wrapped here). Keys, always in this order: `time` (record_time, RFC 3339 UTC
/// µs), `time_estimated`, `ts_usec` (omitted when the kernel printed no time), `seq` (omitted
/// when absent), `facility`, `level`, `flag` (one-character string), `caller` (omitted when
/// empty), `origin` (`kernel`; `klogd` for klogd's own records; the ident of a userspace
/// record, or `kmsg` for one without a tag or claiming `kernel` or `klogd`), `pid` (omitted
/// when none), `dict` (every dictionary entry, omitted when the
/// dictionary is empty; a key seen twice keeps its first value, as dictionary_view::find
/// does), `boot_id` (omitted when empty), `host`, `text` (userspace records: the message after
/// `ident[pid]: `; klogd's own: after `klogd: `). Numbers are written in full even above 2^53.
///
/// Strings are escaped per RFC 8259: `\"`, `\n`, `\t`, `\u00XX` for the other controls and
/// DEL, `\u0080`..`\u009f` for C1 controls, `\u2028`/`\u2029`; other valid UTF-8 is kept raw.
/// A byte that is not part of valid UTF-8 cannot be put in a JSON string: writing it as
/// `\u00NN` would claim the Latin-1 character U+00NN, so it is written as the four characters
/// `\xNN` (in the JSON source: `\\xNN`), as the line formats show it; the text's own
/// backslash is written the same way, `\x5c` (JSON source `\\x5c`), so a decoded `\xNN` is
/// always one escaped byte. The output is always valid UTF-8 and one line.
class json_formatter final : public formatter {
  public:
    explicit json_formatter(const format_options& options);
    void format(const record_view& record, const record_time& time,
                std::string& out) const override;

    /// Appends `text` as the contents of a JSON string (without the quotes), escaped as above.
    static void append_string_contents(std::string& out, std::string_view text);

  private:
    std::string tail_;  ///< `,"boot_id":"...","host":"...","text":"` built once
};

}  // namespace klog::formatters
