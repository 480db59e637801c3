#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "klog/formatters/formatter.hpp"
#include "klog/record_view.hpp"
#include "klog/sinks/loss_gap.hpp"
#include "klog/sinks/queued_record.hpp"

namespace klog::sinks {

/// What an output does when it can take no more (its queue, and spool, at their caps).
enum class when_full : std::uint8_t {
    block,  ///< the pipeline stops reading the kernel (the ring is the buffer); nothing dropped
    drop,   ///< the output drops records and says so (one notice per gap); never holds others back
};

/// Where a file output's bytes stand on disk: exactly-once across kill -9 (DESIGN.md
/// "Delivery": a tail klogd wrote past its saved position is cut off before re-delivery).
struct file_position {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::uint64_t offset = 0;
    friend bool operator==(const file_position&, const file_position&) = default;
};

/// What one output did, for `-d`, the exit summary and (later) metrics.
struct sink_counters {
    std::uint64_t taken = 0;    ///< items given to this output (records and klogd's notices)
    std::uint64_t written = 0;  ///< written or sent (each resend counted again)
    std::uint64_t spooled = 0;  ///< written to the disk spool
    std::uint64_t dropped = 0;  ///< records a full `drop` output (or a refusing peer) lost
    std::uint64_t resent = 0;   ///< sent again after a broken connection
    std::uint64_t refused = 0;  ///< refused by the collector (RELP), sent again
    std::uint64_t broken = 0;   ///< answers from the collector that broke the protocol (RELP)
};

/// One output: a formatter, the records it has taken and not yet made safe, its counters and
/// its durable watermark (DESIGN.md "Delivery"). Subclasses are the transports (file, local
/// syslog, udp, tcp/tls); each decides when a record is safe:
///
/// - file: write(2) returned; local syslog: send(2) returned; udp: sent (best effort);
///   tcp/tls: the peer's TCP acknowledged the bytes, or the record is in the disk spool.
///
/// The pipeline gives every record to `take` (or `pass` when the output does not get it), and
/// reports the kernel's gaps through `missed`. A full `block` output makes the pipeline stop
/// reading the kernel; a full `drop` output drops and reports the gap in front of the next
/// record it takes. `durable_seq` is what the cursor may save for this output.
///
/// Everything runs on the application's one thread; handlers that make room or move the
/// watermark call the progress callback (the application then saves the cursor and, if it had
/// stopped reading, reads again).
class sink {
  public:
    using progress_fn = std::function<void()>;
    using diagnostics_fn = std::function<void(const std::string& message)>;

    virtual ~sink() = default;
    sink(const sink&) = delete;
    sink& operator=(const sink&) = delete;

    /// For messages: "stdout", a path, "tcp://host:port".
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    [[nodiscard]] when_full mode() const noexcept { return mode_; }
    [[nodiscard]] const formatters::formatter& format() const noexcept { return *format_; }

    /// Formats `record` and takes it at `meta`; a pending loss notice goes in front of it. A
    /// full `drop` output counts the record into its loss gap instead.
    void take(const record_view& record, const formatters::record_time& time,
              const record_meta& meta);
    /// The kernel lost `first..last` before the next record: one notice in front of it
    /// (`count` of them when fewer than the range: some were delivered without a number).
    void missed(std::uint64_t first, std::uint64_t last) noexcept { gap_.add_range(first, last); }
    void missed(std::uint64_t first, std::uint64_t last, std::uint64_t count) noexcept {
        gap_.add_range(first, last, count);
    }
    /// A record this output does not get (below `--min-level`): the cursor may pass it.
    void pass(const record_meta& meta);
    /// klogd's own notice `text` for this output alone, taken like a record.
    void notice(std::string_view text) { say(text); }
    /// The end (exit, end of `-o`): a loss notice still waiting for a next record goes out now,
    /// even past the cap.
    void finish();
    /// Start after a saved cursor: records up to `seq` are already here.
    void resume_after(std::optional<std::uint64_t> seq) noexcept { latest_ = seq; }
    /// The last kernel record this output was given (taken or passed), or resumed after.
    /// A reference: a caller reads its flag and its number one at a time (a copy of the whole,
    /// one 16-byte load right after take() stored them apart, stalled every record).
    [[nodiscard]] const std::optional<std::uint64_t>& latest_seq() const noexcept {
        return latest_;
    }

    /// The cursor for this output: every kernel record up to it is safe here (or was reported
    /// missing: a gap not said yet holds it back). None: nothing yet.
    [[nodiscard]] std::optional<std::uint64_t> durable_seq() const noexcept;
    /// File outputs: where the file ends at `durable_seq` (for exactly-once after kill -9).
    [[nodiscard]] virtual std::optional<file_position> durable_file_position() const {
        return std::nullopt;
    }
    /// At start, before writing: cut what an earlier run wrote after `saved` (file outputs, same
    /// file, longer); returns how many bytes were removed.
    virtual std::uint64_t truncate_to(const file_position& saved) {
        (void)saved;
        return 0;
    }
    /// After a kill: cut what an earlier run wrote after `saved` (where records up to
    /// `saved_seq` end) — but only once it is known that the kernel still holds every record
    /// after `saved_seq` (else nothing is cut, and the output is told). Decided before the first
    /// write.
    virtual void plan_cut(const file_position& saved, std::optional<std::uint64_t> saved_seq) {
        (void)saved;
        (void)saved_seq;
    }
    /// This output's saved cursor is past the kernel's newest record (it gets the whole ring
    /// again): the kernel gives none of the records after the cursor.
    virtual void cursor_past_kernel() {}
    /// File outputs starting without a saved sequence number: before the first kernel record
    /// (seq > 0) is written, `save_cursor` is called, so the saved state says where the records
    /// after the saved position begin (the seq before it). Else a kill before the next save
    /// leaves a tail the next start cannot place unless the ring still begins at seq 0, and it
    /// stays: duplicates.
    virtual void save_cursor_before_writing(std::function<void()> save_cursor) {
        (void)save_cursor;
    }
    /// A file output's decision about its unsaved tail is still open: a stop now is not clean
    /// (the next start decides).
    [[nodiscard]] virtual bool cut_pending() const noexcept { return false; }
    /// While `cut_pending()`: the sequence number saved with the position the cut waits on
    /// (`durable_seq` stays it: what this run holds is not known to be safe before then).
    [[nodiscard]] virtual std::optional<std::uint64_t> pending_cut_seq() const noexcept {
        return std::nullopt;
    }
    /// Outputs with a spool: its directory (else empty), whether it held records of an earlier
    /// run at start, and how far the collector itself acknowledged (`durable_seq` also counts
    /// the spool).
    [[nodiscard]] virtual std::string spool_directory() const { return {}; }
    [[nodiscard]] virtual bool spool_had_records() const noexcept { return false; }
    [[nodiscard]] virtual std::optional<std::uint64_t> acknowledged_seq() const noexcept {
        return durable_seq();
    }
    virtual void resume_acknowledged(std::optional<std::uint64_t> seq) noexcept { (void)seq; }
    /// Writes down how far the collector acknowledged where the output keeps it itself (a
    /// spool's `acked`), so that it is never behind the cursor that is saved next: a restart
    /// then sends nothing again that the cursor already calls acknowledged.
    virtual void save_acknowledged() {}
    /// Items taken and not safe yet.
    [[nodiscard]] virtual std::size_t unsafe() const noexcept = 0;
    /// Items waiting in memory (not yet written or acknowledged).
    [[nodiscard]] virtual std::size_t queued() const noexcept = 0;
    /// Can take no more now.
    [[nodiscard]] virtual bool full() const noexcept = 0;
    /// Nothing waits: everything taken was written, sent and acknowledged (spool empty).
    [[nodiscard]] virtual bool idle() const noexcept = 0;

    /// Pushes out what it holds (end of a batch; the retry timer).
    virtual void flush() = 0;
    /// Writes through to stable storage (the fsync timer, exit).
    virtual void sync() {}
    /// SIGHUP: reopen files, reconnect (logrotate).
    virtual void reopen() {}
    /// Before privileges are dropped (`--user`): what the output writes later (its spool)
    /// becomes that user's.
    virtual void hand_over(unsigned uid, unsigned gid) {
        (void)uid;
        (void)gid;
    }
    /// Exit: end connections cleanly once the caller has let them drain.
    virtual void close() {}
    /// Every connection is closed (after close()).
    [[nodiscard]] virtual bool closed() const noexcept { return true; }
    /// The error that keeps records waiting, if any.
    [[nodiscard]] virtual std::error_code last_error() const noexcept { return {}; }
    /// Nothing more can ever be written (standard output closed): the daemon exits.
    [[nodiscard]] virtual bool broken() const noexcept { return false; }
    /// Where records wait that are safe but not delivered yet ("12 records in the spool
    /// /var/lib/klogd/spool/tcp-..."), for the exit summary; empty when none.
    [[nodiscard]] virtual std::string held() const { return {}; }

    [[nodiscard]] const sink_counters& counters() const noexcept { return counters_; }
    /// `NAME: N written, N queued, ...` for `-d` and the exit summary.
    [[nodiscard]] std::string counters_line() const;

    void set_progress(progress_fn fn) { progress_ = std::move(fn); }
    /// Where the output says what happens to it (`-d`).
    void set_diagnostics(diagnostics_fn fn) { diag_ = std::move(fn); }

  protected:
    sink(std::string name, std::unique_ptr<formatters::formatter> format, when_full mode);

    /// Takes one formatted record: the bytes as the formatter made them.
    virtual void put(std::string_view bytes, const record_meta& meta) = 0;
    /// An output that keeps its records' bytes back to back in one buffer (a file) lends it
    /// here, and the formatter appends each record to it directly (no copy per record);
    /// put_appended() then takes the record's bytes, those appended last. Null: put(), from a
    /// copy.
    [[nodiscard]] virtual std::string* append_buffer() noexcept { return nullptr; }
    virtual void put_appended(const record_meta& meta) { (void)meta; }
    /// The oldest item taken and not safe yet.
    [[nodiscard]] virtual std::optional<record_meta> first_unsafe() const noexcept = 0;
    /// finish() begins: nothing more comes but the end's notices (a file output stops
    /// writing in the background).
    virtual void finishing() {}

    /// Room was made or the watermark moved (from a handler): tell the application.
    void progress() const {
        if (progress_) progress_();
    }
    /// klogd's own message `text` in this output's format, without a trailing newline.
    [[nodiscard]] std::string format_notice(std::string_view text) const;
    /// Microseconds since the Unix epoch, now.
    [[nodiscard]] static std::int64_t wall_now() noexcept;
    void diag(const std::string& message) const {
        if (diag_) diag_(message);
    }
    /// Tells this output itself: klogd's own notice `text`, taken like a record.
    void say(std::string_view text);
    /// The first kernel record this output was given (taken or passed) in this run.
    [[nodiscard]] std::optional<std::uint64_t> first_seq() const noexcept { return first_seq_; }

    sink_counters counters_;

  private:
    void place_gap(const record_meta& meta);

    std::string name_;
    std::unique_ptr<formatters::formatter> format_;
    when_full mode_;
    loss_gap gap_;
    std::optional<std::uint64_t> latest_;
    std::optional<std::uint64_t> first_seq_;
    std::optional<std::uint64_t> last_dropped_pos_;
    diagnostics_fn diag_;
    std::string scratch_;
    progress_fn progress_;
};

}  // namespace klog::sinks
