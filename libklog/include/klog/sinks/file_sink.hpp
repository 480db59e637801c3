#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "klog/os/os.hpp"
#include "klog/sinks/sink.hpp"

namespace klog::sinks {

/// Appends to a file (`-f FILE`, `--output=file:PATH`) or standard output (`-`).
///
/// The file is opened O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC|O_NOFOLLOW with mode 0640 — never
/// truncated by opening, never through a symlink. Records are collected in memory and written
/// by `flush()` (end of each batch) or when `write_threshold` bytes wait; records of level crit
/// or worse are written and fsync'ed at once; `sync()` fsyncs (the daemon's timer, exit). After
/// `writeback_after` bytes without an fsync the device is told to start writing them back.
///
/// With `background_block` set (a one-shot run, `-o`), blocks of that size are written by a
/// second thread while the next records are formatted; a record is still counted written only
/// once the thread's write(2) returned for it and this sink took the result, and everything
/// that needs the file itself (fsync, reopen, close, a crit record, finish) takes the result
/// first. Only a clean queue is handed over: after an error it is all written here again.
///
/// A record is safe once write(2) returned for all of its bytes. A failed write (a full disk)
/// keeps the bytes — a short write resumes exactly where it stopped, so no line is ever torn
/// or repeated — and the daemon retries on a timer; past `max_pending` bytes the output is
/// full and the daemon stops reading the kernel until it is written again (nothing dropped).
///
/// For exactly-once delivery across kill -9 the sink knows, for its watermark, the file's
/// device, inode and the offset where the records up to the watermark end
/// (`durable_file_position`); at the next start `truncate_to` cuts what an earlier run wrote
/// past that offset, if the file is still the same inode and longer. Standard output has no
/// position (it is delivered at least once). A file that ends inside a line when the first
/// record is written to it (after any cut) gets a newline first, and a notice says so.
class file_sink final : public sink {
  public:
    struct settings {
        std::size_t write_threshold = 64 * 1024;
        std::size_t max_pending = 4 * 1024 * 1024;
        /// Once this many bytes were written since the last fsync or write-back start, the
        /// device starts writing them back (os::start_writeback), so that a later fsync after a
        /// burst (a replay, a backlog) waits for less. Slow logging never reaches it.
        std::size_t writeback_after = 8 * 1024 * 1024;
        /// Non-zero: blocks of this many bytes are written by a second thread (see above);
        /// from finish() on, everything is written here again. Standard output never.
        std::size_t background_block = 0;
    };

    /// Makes the output's formatter once the output is open: `terminal` says whether it is a
    /// terminal (isatty), for `--color=auto`. Called once, before anything is written.
    using format_factory = std::function<std::unique_ptr<formatters::formatter>(bool terminal)>;

    /// Opens `path` ("-" = standard output). Throws std::system_error naming the path.
    file_sink(std::string path, std::unique_ptr<formatters::formatter> format, settings s);
    file_sink(std::string path, std::unique_ptr<formatters::formatter> format);
    /// Opens `path`, then makes its formatter with `make_format` (decided once: a reopen keeps
    /// it).
    file_sink(std::string path, const format_factory& make_format, settings s);
    ~file_sink() override;
    file_sink(const file_sink&) = delete;
    file_sink& operator=(const file_sink&) = delete;

    /// Cuts the bytes an earlier run wrote after `saved` (same device and inode, file longer):
    /// returns how many were removed (0: nothing to do). Only before this sink wrote anything.
    std::uint64_t truncate_to(const file_position& saved) override;
    void plan_cut(const file_position& saved, std::optional<std::uint64_t> saved_seq) override;
    void cursor_past_kernel() override;
    void save_cursor_before_writing(std::function<void()> save_cursor) override {
        save_cursor_ = std::move(save_cursor);
    }
    [[nodiscard]] bool cut_pending() const noexcept override { return planned_cut_.has_value(); }
    [[nodiscard]] std::optional<std::uint64_t> pending_cut_seq() const noexcept override {
        return planned_cut_ ? planned_cut_->seq : std::nullopt;
    }

    [[nodiscard]] std::optional<file_position> durable_file_position() const override;
    [[nodiscard]] std::size_t unsafe() const noexcept override { return items_.size(); }
    [[nodiscard]] std::size_t queued() const noexcept override { return items_.size(); }
    [[nodiscard]] bool full() const noexcept override {
        return pending_.size() - head_ + inflight_.size() >= s_.max_pending;
    }
    [[nodiscard]] bool idle() const noexcept override { return items_.empty(); }
    void flush() override;
    void sync() override;
    /// Reopens the path (after logrotate moved it). Standard output is kept.
    void reopen() override;
    /// Exit: a record written only in part (a full disk) is cut off, so the file ends with a
    /// whole line (klogd writes it again at the next start).
    void close() override;
    [[nodiscard]] std::error_code last_error() const noexcept override { return last_error_; }
    [[nodiscard]] bool broken() const noexcept override { return broken_; }

  protected:
    void finishing() override;
    void put(std::string_view bytes, const record_meta& meta) override;
    [[nodiscard]] std::string* append_buffer() noexcept override { return &pending_; }
    void put_appended(const record_meta& meta) override;
    [[nodiscard]] std::optional<record_meta> first_unsafe() const noexcept override {
        if (items_.empty()) return std::nullopt;
        return items_.front().meta;
    }

  private:
    struct item {
        record_meta meta;
        /// Offset just after its bytes: into pending_, or into inflight_ for the first
        /// inflight_items_ while the writer thread has a block.
        std::size_t end;
    };
    /// The items not written yet, oldest first: a vector and the index of its first one (a
    /// std::deque allocated and freed a block every nine records). Emptied whenever all are
    /// written, which is at the end of almost every batch; compacted when a long-failing
    /// device leaves most of it written.
    class item_queue {
      public:
        [[nodiscard]] bool empty() const noexcept { return head_ == items_.size(); }
        [[nodiscard]] std::size_t size() const noexcept { return items_.size() - head_; }
        [[nodiscard]] const item& front() const noexcept { return items_[head_]; }
        item& emplace_back() { return items_.emplace_back(); }
        void push_front(const item& it) {
            if (head_ > 0) {
                items_[--head_] = it;
            } else {
                items_.insert(items_.begin(), it);
            }
        }
        void pop_front() noexcept {
            if (++head_ == items_.size()) {
                items_.clear();
                head_ = 0;
            } else if (head_ >= 4096 && 2 * head_ >= items_.size()) {
                items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
                head_ = 0;
            }
        }
        [[nodiscard]] auto begin() noexcept {
            return items_.begin() + static_cast<std::ptrdiff_t>(head_);
        }
        [[nodiscard]] auto end() noexcept { return items_.end(); }

      private:
        std::vector<item> items_;
        std::size_t head_ = 0;
    };

    file_sink(os::unique_fd fd, const std::string& path, const format_factory& make_format,
              settings s);
    /// Opens `path` for appending ("-": standard output, which is never closed). Throws
    /// std::system_error naming it.
    [[nodiscard]] static os::unique_fd open_path(const std::string& path);
    /// A planned cut is decided (true: writing may go on; false: not known yet).
    bool decide_cut(bool cursor_past_kernel = false);
    /// Takes the device, inode and end offset of the open file (after open, reopen, a cut),
    /// and whether it ends inside a line.
    void learn_position();
    /// Whether the open regular file `st` describes ends with a byte other than a newline (read
    /// through a descriptor of its own, /proc/self/fd: this one may only write). False when it
    /// cannot be read (said through diag).
    [[nodiscard]] bool ends_inside_line(const struct stat& st) const noexcept;
    /// Before the first record written to a file that ends inside a line: a newline and a
    /// notice that says so go in front of what waits, as one item (the durable position stays
    /// where the line was cut until both are written). False: no memory for it.
    bool queue_torn_line_notice() noexcept;
    bool write_pending() noexcept;
    /// Bytes to write and what the file's write-back state is before (here or on the writer
    /// thread).
    struct write_request {
        int fd = -1;
        const char* data = nullptr;
        std::size_t size = 0;
        bool positioned = false;
        bool is_stdout = false;
        std::size_t not_written_back = 0;
        bool writeback_works = true;
        std::size_t writeback_after = 0;
    };
    /// What one run of write(2) calls did.
    struct write_result {
        std::size_t written = 0;
        std::uint64_t end_offset = 0;  ///< the file offset after them (when positioned)
        bool positioned = false;
        std::error_code ec;
        std::size_t not_written_back = 0;
        bool writeback_works = true;
    };
    /// `size` bytes from `data`, with this sink's file and write-back state.
    [[nodiscard]] write_request request(const char* data, std::size_t size) const noexcept;
    /// Writes the request's bytes (until done or an error), then starts write-back when due.
    /// Touches nothing of the sink: the writer thread runs it too.
    [[nodiscard]] static write_result write_out(const write_request& w) noexcept;
    /// Takes `r` for the bytes after head_: items (at most `max_items`) written completely
    /// count as written. False: the write failed.
    bool take_result(const write_result& r, std::size_t max_items) noexcept;
    /// The queue may go to the writer thread: nothing written in part, no error, no cut,
    /// cursor save or cut line to end before the first write.
    [[nodiscard]] bool clean() const noexcept;
    /// Hands what waits to the writer thread (after taking its last result), or writes it here
    /// when the queue is not clean.
    void hand_off() noexcept;
    /// Takes the writer thread's result: `wait` for it, else only if it is there.
    void collect(bool wait) noexcept;

    std::string path_;
    settings s_;
    os::unique_fd fd_;
    bool is_stdout_ = false;
    std::string pending_;
    std::size_t head_ = 0;         ///< bytes of pending_ already written
    std::size_t front_begin_ = 0;  ///< where the first record not written completely begins
    item_queue items_;
    bool dirty_ = false;                ///< written since the last fsync
    std::size_t not_written_back_ = 0;  ///< bytes written since the last fsync or write-back start
    bool writeback_works_ = true;       ///< start_writeback failed once: never again
    struct planned_cut {
        file_position position;
        std::optional<std::uint64_t> seq;
    };
    std::optional<planned_cut> planned_cut_;
    std::function<void()> save_cursor_;  ///< see save_cursor_before_writing()
    bool broken_ = false;
    bool closed_ = false;  ///< close() ran: nothing is written any more
    std::error_code last_error_;
    // Where the file stands (regular files; not standard output).
    bool positioned_ = false;
    std::uint64_t device_ = 0;
    std::uint64_t inode_ = 0;
    std::uint64_t written_end_ = 0;          ///< file offset after the last byte written
    std::optional<std::uint64_t> last_pos_;  ///< position of the last item written
    std::uint64_t last_pos_begin_ = 0;       ///< file offset where that position begins
    /// The file ended inside a line at this offset when it was opened (or cut): a newline goes
    /// before the first record written to it.
    std::optional<std::uint64_t> torn_at_;
    // Background writing (settings::background_block).
    class writer_thread;
    bool background_ = false;  ///< blocks go to the writer thread (until finish())
    /// The block the writer thread has (not touched meanwhile); empty between blocks, when
    /// it is the buffer pending_ becomes at the next hand-off.
    std::string inflight_;
    std::size_t inflight_items_ = 0;         ///< the first items, whose bytes are inflight_
    std::unique_ptr<writer_thread> writer_;  ///< last: stops before the buffers go
};

}  // namespace klog::sinks
