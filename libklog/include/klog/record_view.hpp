#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "klog/dictionary_view.hpp"

namespace klog {

namespace incidents {
struct incident;
}

/// Where a record came from: the kernel itself, klogd, or a process that wrote to /dev/kmsg
/// (facility other than kern), which keeps its `ident[pid]`.
struct origin {
    std::string_view ident;            ///< "kernel" for kernel records, "klogd" for klogd's own
    std::optional<std::uint32_t> pid;  ///< from `ident[pid]:`
    std::string_view message;          ///< text after the `ident[pid]: ` prefix
};

/// A decoded kernel log record that does not own its bytes: every view points into the read
/// buffer or a decoder's scratch buffer and is valid until the next record is decoded.
/// (A new field must also be set in decoders::parse_kmsg_record's form that fills a reused
/// record.)
struct record_view {
    std::uint8_t level = 6;            ///< 0 (emerg) .. 7 (debug)
    std::uint8_t facility = 0;         ///< 0 (kern) .. 255; anything but 0 was written by userspace
    std::optional<std::uint64_t> seq;  ///< /dev/kmsg sequence number (absent for proc/syscall)
    std::optional<std::uint64_t> ts_usec;  ///< kernel monotonic time (absent: kernel printed none)
    char flag = '-';             ///< /dev/kmsg flag: '-' none, 'c' continuation, '+' fragment
    std::string_view caller;     ///< `T123` / `C1` when the kernel has CONFIG_PRINTK_CALLER
    std::string_view text;       ///< unescaped message bytes (may hold newlines, NUL, controls)
    dictionary_view dictionary;  ///< SUBSYSTEM=, DEVICE=, any KEY=VALUE
    bool malformed = false;      ///< the bytes did not parse; text holds them as they were
    /// `text` holds no newline, as the decoder knows from its own scan (false: not known, so
    /// a stage that splits lines looks for them).
    bool single_line = false;
    /// klogd's own record (a loss notice, later an incident report), never read from the
    /// kernel: every formatter marks it where no kernel or userspace text can reach.
    bool own = false;
    /// A record of the previous boot, read from pstore (`/sys/fs/pstore/dmesg-*`): ident
    /// `pstore`, marked so in every format where no kernel or userspace text can reach.
    bool pstore = false;
    /// klogd's own incident report: the facts record formats carry as structure (json
    /// `"incident"`, rfc5424 `[incident@32473 ...]`); line formats print `text`, its summary.
    const incidents::incident* incident = nullptr;

    [[nodiscard]] int priority() const noexcept { return facility * 8 + level; }
    /// Written by the kernel itself (facility kern, not klogd's own).
    [[nodiscard]] bool from_kernel() const noexcept { return facility == 0 && !own && !pstore; }
    [[nodiscard]] bool continuation() const noexcept { return flag == 'c'; }
    /// Who wrote the record, and its message without the tag:
    ///  - klogd's own records (`own`): ident `klogd`, the text after a leading `klogd: `;
    ///  - kernel records (facility 0, which /dev/kmsg writers cannot use): ident `kernel`, the
    ///    whole text; the previous boot's records from pstore (any facility): ident `pstore`,
    ///    the whole text;
    ///  - userspace records: the `ident[pid]: ` / `ident: ` prefix of the text. The idents
    ///    `kernel`, `klogd` and `pstore` are reserved: a userspace record claiming one (or with no
    ///    recognisable tag) has an empty ident and its whole text as the message.
    [[nodiscard]] klog::origin origin() const noexcept;
};

/// A message of klogd's own (a loss notice, a symbol statement): facility kern, no sequence
/// number, no kernel time; `text` must outlive the view.
[[nodiscard]] record_view own_notice(std::string_view text, std::uint8_t level = 4) noexcept;

}  // namespace klog
