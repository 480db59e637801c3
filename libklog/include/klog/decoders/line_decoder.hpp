#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "klog/record_view.hpp"

namespace klog::decoders {

/// Decodes the text form of the kernel log: what `/proc/kmsg` and `syslog(2)` return and what
/// `dmesg -r` prints, one record per line:
///
///     <PRI>[secs.usecs][ CALLER] text
///
/// The time and the caller (`[    T123]`, CONFIG_PRINTK_CALLER) are optional; PRI is 0..2047
/// (facility up to 255). A multi-line record arrives as several lines with the same prefix and
/// becomes several records. Text is taken as raw bytes (control bytes, NUL). Chunks may split
/// lines anywhere: the tail is kept until its '\n' arrives, or until `finish()`.
///
/// With `prefix::optional` (plain `dmesg` output) lines without `<PRI>` are normal records of
/// level 6; with `prefix::required` such a line is passed through whole as a malformed record.
///
/// A line longer than `max_line` bytes is cut: its first `max_line` bytes become a record marked
/// malformed (so the pipeline counts it), the rest up to its '\n' is dropped, and cut_lines()
/// counts it. Memory held for a line is thus bounded whatever the input.
class line_decoder {
  public:
    enum class prefix { required, optional };

    /// The longest line kept, without its '\n'. No kernel prints a longer one: a record's text
    /// is at most 1024 bytes (LOG_LINE_MAX before 5.10, PRINTKRB_RECORD_MAX after) and each
    /// line's prefix `<PRI>[secs.usecs][caller] ` at most 48 (PRINTK_PREFIX_MAX); the largest
    /// buffer printk ever formats a record into is CONSOLE_EXT_LOG_MAX, 8192 bytes. The same
    /// figure here leaves room for any kernel yet bounds what a stand-in or a broken kernel
    /// makes klogd hold.
    static constexpr std::size_t max_line = 8192;

    explicit line_decoder(prefix mode = prefix::required) : mode_(mode) {}

    /// Calls `on_record(const record_view&)` for every complete line in `chunk` (and the
    /// pending tail of earlier chunks).
    template <typename Fn>
    void feed(std::string_view chunk, Fn&& on_record);

    /// Delivers a pending partial line (a source that ended without the final '\n').
    template <typename Fn>
    void finish(Fn&& on_record);

    /// Bytes of an incomplete line held from earlier chunks (at most max_line).
    [[nodiscard]] std::size_t pending() const noexcept { return partial_.size(); }

    /// Lines longer than max_line seen so far (each delivered cut, as a malformed record).
    [[nodiscard]] std::uint64_t cut_lines() const noexcept { return cut_lines_; }

    /// Decodes one complete line (without its '\n'). Never throws.
    [[nodiscard]] static record_view parse_line(std::string_view line, prefix mode) noexcept;

  private:
    /// Delivers the first max_line bytes of a longer line, marked malformed, and counts it.
    template <typename Fn>
    void deliver_cut(std::string_view head, Fn& on_record);

    prefix mode_;
    std::string partial_;
    bool skipping_ = false;  ///< dropping the rest of a cut line, up to its '\n'
    std::uint64_t cut_lines_ = 0;
};

template <typename Fn>
void line_decoder::deliver_cut(std::string_view head, Fn& on_record) {
    ++cut_lines_;
    record_view r = parse_line(head, mode_);
    r.malformed = true;
    on_record(r);
}

template <typename Fn>
void line_decoder::feed(std::string_view chunk, Fn&& on_record) {
    while (!chunk.empty()) {
        const auto nl = chunk.find('\n');
        const std::string_view line = chunk.substr(0, nl);  // the whole chunk when no '\n'
        if (skipping_) {
            skipping_ = nl == std::string_view::npos;
        } else if (partial_.size() + line.size() > max_line) {
            if (partial_.empty()) {
                deliver_cut(line.substr(0, max_line), on_record);
            } else {
                partial_.append(line.substr(0, max_line - partial_.size()));
                deliver_cut(partial_, on_record);
                partial_.clear();
            }
            skipping_ = nl == std::string_view::npos;
        } else if (nl == std::string_view::npos) {
            partial_.append(line);
        } else if (!partial_.empty()) {
            partial_.append(line);
            on_record(parse_line(partial_, mode_));
            partial_.clear();
        } else {
            on_record(parse_line(line, mode_));
        }
        if (nl == std::string_view::npos) return;
        chunk.remove_prefix(nl + 1);
    }
}

template <typename Fn>
void line_decoder::finish(Fn&& on_record) {
    skipping_ = false;
    if (partial_.empty()) return;
    on_record(parse_line(partial_, mode_));
    partial_.clear();
}

}  // namespace klog::decoders
