#pragma once

#include <string>

#include "klog/formatters/formatter.hpp"

namespace klog::formatters {

/// What `syslog(2)`, `/proc/kmsg` and `dmesg -r` show (classic klogd `-f`):
///
///     <6>[    4.836489] text\n
///     <6>[    4.836489][    T1] text\n     (caller: `[%6s]`, CONFIG_PRINTK_CALLER)
///     <6>text\n                            (no kernel time)
///
/// PRI is the full facility * 8 + level (up to 2047 for facility 255), as the kernel prints
/// it. The text is the record's whole text, userspace `ident[pid]: ` included. klogd's own
/// records (`record_view::own`) are marked inside the angle brackets, where no text can reach:
///
///     <4,klogd>klogd: missed 4 kernel messages (seq 11..14)\n
///
/// Line format:
/// one line per text line, each with the same prefix, bytes escaped by text_escaper; coloured
/// with format_options::color (line_colors), the only option it uses.
class raw_formatter final : public formatter {
  public:
    raw_formatter() = default;
    explicit raw_formatter(const format_options& options);
    void format(const record_view& record, const record_time& time,
                std::string& out) const override;

  private:
    bool color_ = false;  ///< format_options::color
};

}  // namespace klog::formatters
