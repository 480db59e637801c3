#pragma once

#include <string>
#include <string_view>

#include "klog/formatters/formatter.hpp"

namespace klog::formatters {

/// The syslog protocol (RFC 5424), one record per call:
///
///     <6>1 2026-11-24T05:31:02.123456Z HOST kernel - - [kmsg@32473 seq="376" ts="4836489"
///     caller="T1" boot="..." subsystem="pci" device="+pci:0000:00:00.0" estimated="1"] text
///
/// (one line, wrapped here). Fields:
///  - PRI: facility * 8 + level; facilities above 23 do not exist on the syslog wire and are
///    sent as 1 (user), the real one kept in the SD parameter `facility`.
///  - TIMESTAMP: `record_time::wall_usec`, UTC, microseconds.
///  - HOSTNAME: `format_options::hostname` (printable ASCII, '_' for other bytes, 255 max),
///    `-` when empty.
///  - APP-NAME: `kernel` for kernel records, `klogd` for klogd's own (`record_view::own`, its
///    MSG without the leading `klogd: `), or the ident of a userspace record (48 max, '_' for
///    bytes outside printable ASCII), `-` for a userspace record without a tag or claiming
///    `kernel` or `klogd` (record_view::origin()). PROCID: its pid, else `-`. MSGID: `-`.
///  - STRUCTURED-DATA `[kmsg@32473 ...]` with only the parameters present, in this order: seq,
///    ts (kernel µs), caller, boot (format_options::boot_id), subsystem, device, estimated="1"
///    (when `record_time::estimated`), facility (when above 23); `-` if none is present.
///    PARAM-VALUEs escape `"` and `]` with a backslash (RFC 5424 6.3.3); control bytes, C1
///    controls, invalid UTF-8 and the backslash itself become the characters `\xNN` (the
///    backslash escaped: `\\xNN` on the wire), as in the line formats, so a decoded `\xNN`
///    is always one escaped byte.
///  - MSG: the text bytes exactly as they are (userspace records: `origin.message`, the part
///    after `ident[pid]: `), newlines, control bytes and non-UTF-8 included, no BOM. Left out
///    together with its leading space when empty.
/// No trailing newline: a record; framing (octet counting) is the transport's.
///
/// With `format_options::line_mode` (files, standard output, LF framing) the record is one
/// line instead: MSG is escaped by text_escaper (newlines as `\x0a`, backslash as `\x5c`) and
/// a '\n' ends the record.
class rfc5424_formatter final : public formatter {
  public:
    /// SD-ID of our parameters; 32473 is the documentation PEN (RFC 5612) until one is
    /// registered.
    static constexpr std::string_view sd_id = "kmsg@32473";
    /// klogd's incident reports: `[incident@32473 kind= first_seq= ... signature= count=]`.
    static constexpr std::string_view incident_sd_id = "incident@32473";

    explicit rfc5424_formatter(const format_options& options);
    void format(const record_view& record, const record_time& time,
                std::string& out) const override;

    /// Appends `value` escaped as an RFC 5424 PARAM-VALUE (without the quotes).
    static void append_param_value(std::string& out, std::string_view value);

    /// The incident's structured data element (params in the order of incident::append_json).
    static void append_incident(std::string& out, const incidents::incident& incident);

  private:
    std::string host_;        ///< HOSTNAME field, never empty
    bool line_mode_ = false;  ///< format_options::line_mode
    std::string boot_param_;  ///< ` boot="..."` or empty
};

}  // namespace klog::formatters
