#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "klog/decoders/line_decoder.hpp"
#include "klog/record_view.hpp"
#include "klog/sources/source.hpp"

namespace klog::sources {

/// The kinds of saved kernel log a replay recognises from its first bytes.
enum class replay_format {
    kmsg_nul,     ///< /dev/kmsg records, one read(2) each, separated by NUL bytes
    kmsg_lines,   ///< `cat /dev/kmsg` output: records separated by '\n', dictionary lines indented
    dmesg_raw,    ///< `dmesg -r`, /proc/kmsg, syslog(2): `<N>[secs.usecs] text`
    dmesg_plain,  ///< plain `dmesg`: `[secs.usecs] text` (level unknown: 6)
};

/// Reads a saved kernel log from a file or a pipe (`--source=PATH`, `--source=-`), detecting
/// its format from the first bytes. Reads are in chunks (see wait_for_input); the end of input ends it.
class replay_source final : public source {
  public:
    static constexpr std::size_t chunk_size = 1 << 16;
    /// A saved /dev/kmsg record longer than this is cut: its first max_record bytes are
    /// delivered, marked malformed, and the rest up to its end is dropped. The kernel's records
    /// are at most 8 KiB; the bound keeps a file without separators from filling memory.
    static constexpr std::size_t max_record = 16 << 20;
    /// The format is decided from this much at most (a file with no line or record end in it
    /// is not read whole first); from max_record at most when it starts like a /dev/kmsg
    /// record, whose end tells its form.
    static constexpr std::size_t max_detect = 4 * chunk_size;

    /// Opens `path` ("-" is standard input). Throws std::system_error naming the path.
    static int open_file(const std::string& path);

    /// Detects the format from the start of a saved log; nullopt when `head` is too short to
    /// tell yet (with `at_end`, the whole input: always decides). `looked_at`: the size of the
    /// head an earlier call left undecided (its newlines are not looked at again).
    [[nodiscard]] static std::optional<replay_format> detect(std::string_view head, bool at_end,
                                                             std::size_t looked_at = 0) noexcept;

    /// Takes ownership of `fd` (standard input is not closed).
    replay_source(boost::asio::io_context& io, int fd, std::string name);
    ~replay_source() override;
    replay_source(const replay_source&) = delete;
    replay_source& operator=(const replay_source&) = delete;

    [[nodiscard]] const std::string& name() const noexcept override { return name_; }
    read_status read_available(record_handler& handler, std::error_code& ec) override;
    void async_wait(std::function<void(std::error_code)> done) override;
    void close() noexcept override;
    /// A daemon's replay of a pipe, FIFO or terminal: a read is made only when poll(2) says
    /// bytes are there (else read_available says `drained`), and async_wait looks again after
    /// `input_check` in the event loop, so that signals are acted on while the writer is
    /// quiet. The descriptor is not watched by epoll: Asio would make it non-blocking, which
    /// other processes sharing standard input would see. Without it (a file, -o), reads wait
    /// in read(2) until the end of input. False (and nothing changed) for anything
    /// but a pipe, FIFO, socket or terminal.
    bool wait_for_input() noexcept;
    static constexpr std::chrono::milliseconds input_check{50};

    /// The detected format (valid after the first read).
    [[nodiscard]] replay_format format() const noexcept { return format_; }
    [[nodiscard]] std::uint64_t cut_lines() const noexcept override { return decoder_.cut_lines(); }
    [[nodiscard]] std::uint64_t cut_records() const noexcept override { return cut_records_; }

  private:
    /// Kmsg forms: splits chunk_[start_, filled_) into records and hands on the complete ones
    /// (all of them `at_end`), start_ past each before the handler gets it.
    void deliver(record_handler& handler, bool at_end);
    /// One record's bytes (cut to max_record, see there).
    void deliver_kmsg_record(record_handler& handler, std::string_view bytes);
    /// Kmsg forms, after a cut: drops what is read of the cut record's rest; true once its end
    /// was found (start_ is then the next record's start).
    bool skip_cut_rest(bool at_end);
    [[nodiscard]] bool kmsg_form() const noexcept {
        return format_ == replay_format::kmsg_nul || format_ == replay_format::kmsg_lines;
    }

    boost::asio::io_context& io_;
    int fd_;
    /// With wait_for_input: when to look for input again (one wait at a time).
    std::optional<boost::asio::steady_timer> waiter_;
    std::string name_;
    bool detected_ = false;
    replay_format format_ = replay_format::dmesg_raw;
    decoders::line_decoder decoder_;
    std::string pending_;  ///< before the format is known: what was read
    std::string scratch_;
    record_view record_;  ///< the record being delivered, reused (no clearing per record)
    /// Where each read goes. Kmsg forms: chunk_[start_, filled_) is read and not handed on yet
    /// (an unfinished record, or records after one whose handler threw); the next read comes
    /// right after it (no copy of the input on its way to the decoder).
    std::vector<char> chunk_;
    std::size_t start_ = 0;
    std::size_t filled_ = 0;
    bool skipping_ = false;        ///< dropping the rest of a cut record
    std::size_t scanned_ = 0;      ///< bytes after start_ that deliver() already looked at
    std::size_t detected_to_ = 0;  ///< bytes of pending_ that detect() left undecided
    std::uint64_t cut_records_ = 0;
};

}  // namespace klog::sources
