#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "klog/pipeline.hpp"
#include "klog/sources/source.hpp"
#include "klogd/config.hpp"
#include "klogd/delivery_cursor.hpp"

namespace klogd {

/// Reading the kernel into the pipeline, and what delivery needs around it (DESIGN.md
/// "Delivery"): the kernel is read only while no `block` output is full (the ring is the
/// buffer); outputs report progress (room made, records acknowledged) and reading resumes; the
/// cursor is saved after every batch; outputs that could not write are tried again every
/// second, written data reaches the disk within five; a saved cursor past the kernel's newest
/// record gets the whole ring again. SIGTSTP closes the source, SIGCONT opens it again.
class read_loop {
  public:
    using diag_fn = std::function<void(const std::string&)>;
    struct hooks {
        diag_fn diag;                       ///< -d
        std::function<void(int)> stop;      ///< reading cannot go on: exit status (0: end of input)
        std::function<void()> written;      ///< after each batch is written out
        std::function<void()> before_read;  ///< before each batch (module events first)
    };

    read_loop(boost::asio::io_context& io, const config& cfg, klog::pipeline& pipeline, hooks h);

    /// Opens what the config says to read (throws std::system_error naming it).
    void open_source();
    /// The daemon: each output resumes from the state file's cursor (/dev/kmsg only), and
    /// where every output stands is saved before anything is written.
    void begin_cursor(const std::string& boot_id, const std::vector<std::string>& output_keys);
    /// The daemon: reads the backlog, then waits for the kernel.
    void start();
    /// -o: reads until drained or the end, never waiting for the kernel; while an output is
    /// full, waits for it (at most --flush-timeout without progress). False on a read error.
    bool read_all();
    /// An output made room or moved its watermark (called from its handlers).
    void on_progress();
    /// End of a batch: outputs write out, the cursor is saved, timers armed as needed.
    void flush_outputs();
    void suspend();
    void resume();
    /// Closes the source and cancels the timers (the application stops the io_context).
    void stop();
    /// Runs the io_context until every output is idle, or none made progress for `quiet`.
    bool settle(std::chrono::milliseconds quiet);
    /// Ends every output's connection cleanly (bounded), writes and syncs what is left.
    void close_outputs();
    /// `clean`: at a clean stop (everything written is in the saved positions).
    void save_cursor(bool durable = false, bool clean = false);

    /// -o through syslog(2): the one READ_ALL, if that is the source (true when it read).
    bool read_snapshot();
    [[nodiscard]] bool gave_up_reading() const noexcept { return gave_up_reading_; }
    [[nodiscard]] std::uint64_t cut_lines() const;
    [[nodiscard]] std::uint64_t cut_records() const;

  private:
    using clock = std::chrono::steady_clock;

    void wait_for_records();
    /// One batch from the source into the pipeline; a read error is reported, sets `failed`
    /// and ends reading.
    klog::sources::read_status read_once(bool& failed);
    /// Reads until drained, the end, or a full output (then paused until progress).
    void drain();
    void resume_reading();
    /// Outputs whose cursor is past the kernel's newest record get the whole ring: true when
    /// the source was reopened for that.
    bool restart_ahead_outputs();
    void check_ahead_later(int rounds = 0);
    void arm_retry();
    void arm_fsync();
    void sync_outputs();
    /// Runs the io_context until no `block` output is full, or no progress for `quiet`.
    bool wait_unblocked(std::chrono::milliseconds quiet);
    /// Runs handlers until `next_flush` (at most 50 ms); sleeps when there is nothing to run.
    void run_until(clock::time_point next_flush);
    /// Reading stops for an output that stayed full: says which, on standard error.
    void say_stopped_reading() const;
    [[nodiscard]] bool output_broken() const;
    /// The source gave at least one record (or said it lost some) since the start.
    [[nodiscard]] bool kernel_gave_records() const;

    boost::asio::io_context& io_;
    const config& cfg_;
    klog::pipeline& pipeline_;
    hooks hooks_;
    boost::asio::steady_timer retry_timer_;
    boost::asio::steady_timer fsync_timer_;
    boost::asio::steady_timer ahead_timer_;
    std::unique_ptr<klog::sources::source> source_;
    std::optional<delivery_cursor> cursor_;  ///< /dev/kmsg only, daemon only
    clock::time_point last_progress_{};
    bool has_sequence_numbers_ = false;  ///< the source is /dev/kmsg (or its stand-in)
    bool syscall_one_shot_ = false;
    bool daemon_mode_ = false;
    bool retry_armed_ = false;
    bool fsync_armed_ = false;
    bool progress_posted_ = false;
    bool paused_ = false;  ///< not reading: an output is full
    bool suspended_ = false;
    bool stopping_ = false;
    bool gave_up_reading_ = false;
    bool session_checked_ = false;  ///< cursors compared with the kernel's newest record
    bool drain_posted_ = false;     ///< the rest of a long backlog is read in a handler
    int batches_in_a_row_ = 0;
};

}  // namespace klogd
