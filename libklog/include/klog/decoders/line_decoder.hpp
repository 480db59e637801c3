#pragma once

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
class line_decoder {
  public:
    enum class prefix { required, optional };

    explicit line_decoder(prefix mode = prefix::required) : mode_(mode) {}

    /// Calls `on_record(const record_view&)` for every complete line in `chunk` (and the
    /// pending tail of earlier chunks).
    template <typename Fn>
    void feed(std::string_view chunk, Fn&& on_record);

    /// Delivers a pending partial line (a source that ended without the final '\n').
    template <typename Fn>
    void finish(Fn&& on_record);

    /// Bytes of an incomplete line held from earlier chunks.
    [[nodiscard]] std::size_t pending() const noexcept { return partial_.size(); }

    /// Decodes one complete line (without its '\n'). Never throws.
    [[nodiscard]] static record_view parse_line(std::string_view line, prefix mode) noexcept;

  private:
    prefix mode_;
    std::string partial_;
};

template <typename Fn>
void line_decoder::feed(std::string_view chunk, Fn&& on_record) {
    if (!partial_.empty()) {
        const auto nl = chunk.find('\n');
        if (nl == std::string_view::npos) {
            partial_.append(chunk);
            return;
        }
        partial_.append(chunk.substr(0, nl));
        on_record(parse_line(partial_, mode_));
        partial_.clear();
        chunk.remove_prefix(nl + 1);
    }
    while (!chunk.empty()) {
        const auto nl = chunk.find('\n');
        if (nl == std::string_view::npos) {
            partial_.assign(chunk);
            return;
        }
        on_record(parse_line(chunk.substr(0, nl), mode_));
        chunk.remove_prefix(nl + 1);
    }
}

template <typename Fn>
void line_decoder::finish(Fn&& on_record) {
    if (partial_.empty()) return;
    on_record(parse_line(partial_, mode_));
    partial_.clear();
}

}  // namespace klog::decoders
