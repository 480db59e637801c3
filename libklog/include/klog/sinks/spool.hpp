#pragma once

#include "klog/os/os.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace klog::sinks {

/// A network output's disk queue: every record the output takes is appended here first (safe
/// once write(2) returned, so a kill -9 loses nothing), read back in order for sending, and
/// removed once the collector acknowledged it. Files `<16 hex digits>.spool` (segments) in one
/// directory per output, oldest first; a lock file (flock) keeps two klogds off one directory.
///
/// Segment format: the 8 bytes `KLOGSPL1`, then records, each a 17-byte header — payload
/// length (u32 little endian), CRC-32 of the rest of the header and the payload (u32 LE),
/// flags (u8, bit 0: a sequence number follows), sequence number (u64 LE) — and the payload
/// (the formatted record without framing).
///
/// Appends are collected and written by `write()` (end of each batch; a short write resumes
/// where it stopped). New records always go to a segment this process created, never to one
/// left by an earlier run. Reading segments an earlier run left: a record cut off at the end of
/// the newest one (that run was killed while writing it, so it never counted it) is skipped
/// silently; a record that does not check out (bad magic, bad CRC, a length past the end of
/// any other segment) ends that segment and its bytes are reported as damaged — never a crash. `release` removes segments whose records were all
/// delivered; how far the newest one was delivered is kept in the file `acked` (after each
/// batch, and fsync'ed by `sync()`), so a restart sends again only what was not acknowledged.
class spool {
  public:
    static constexpr std::string_view magic = "KLOGSPL1";
    static constexpr std::size_t header_size = 17;
    static constexpr std::uint32_t max_record = 1U << 20;

    /// Where a record ends: its segment and the byte offset just after it.
    struct location {
        std::uint64_t segment = 0;
        std::uint64_t end = 0;
    };
    /// A record read back.
    struct stored {
        std::string bytes;
        std::optional<std::uint64_t> seq;
        location at;
    };
    /// Bytes of a segment that could not be read.
    struct damage {
        std::string file;
        std::uint64_t bytes = 0;
    };
    /// A whole segment decoded (tests, tools).
    struct decoded {
        std::vector<stored> records;
        std::uint64_t damaged_bytes = 0;  ///< bytes after the last good record that do not parse
        std::uint64_t torn_bytes = 0;     ///< a record cut off at the end (an unfinished write)
    };

    /// Creates `dir` (mode 0700) if needed, locks it and lists its segments. Throws
    /// std::system_error naming the directory.
    spool(std::string dir, std::uint64_t max_bytes, std::size_t segment_bytes = 256 * 1024);
    ~spool();
    spool(const spool&) = delete;
    spool& operator=(const spool&) = delete;

    // The writing end.
    /// Adds one record to what `write()` writes next.
    void append(std::string_view payload, std::optional<std::uint64_t> seq);
    /// Writes what was appended; returns how many records became complete on disk. On an
    /// error what was not written stays (retried by the next call) and `last_error()` says why.
    std::size_t write();
    [[nodiscard]] std::size_t unwritten() const noexcept {
        return pending_ends_.size() - pending_done_;
    }
    [[nodiscard]] std::size_t unwritten_bytes() const noexcept {
        return pending_.size() - pending_head_;
    }
    /// The cap is reached: records held (on disk and not acknowledged, or not yet written).
    [[nodiscard]] bool full() const noexcept { return bytes() >= max_bytes_; }
    [[nodiscard]] std::error_code last_error() const noexcept { return last_error_; }
    /// Takes back the records appended and not written completely (a part written is cut off
    /// the segment), oldest first — for sending them from memory while the disk is full.
    std::vector<stored> take_unwritten();
    /// fsync of the segment being written; saves how far the collector acknowledged.
    void sync();
    /// Saves how far the collector acknowledged (file `acked`, replaced atomically), so that a
    /// restart does not send it again; `durable` fsyncs it.
    void save_acked(bool durable = false);

    // The reading end.
    /// Up to `max_records` (and about `max_bytes`) records after the last one read, oldest
    /// first; unreadable bytes are added to `damaged`.
    std::vector<stored> read(std::size_t max_records, std::size_t max_bytes,
                             std::vector<damage>& damaged);
    /// Records on disk not read yet.
    [[nodiscard]] bool unread() const noexcept;
    /// Every record up to `at` was delivered: segments that hold nothing else are removed.
    void release(const location& at);
    /// Nothing is held: no record unread or unacknowledged, nothing waiting to be written.
    [[nodiscard]] bool empty() const noexcept;

    /// Bytes held: on disk and not acknowledged, plus not yet written.
    [[nodiscard]] std::uint64_t bytes() const noexcept;
    /// Records held on disk from the start and written since (not yet released), roughly.
    [[nodiscard]] std::size_t segments() const noexcept { return segments_.size(); }
    [[nodiscard]] const std::string& directory() const noexcept { return dir_; }
    /// The directory and everything in it become `uid`:`gid`'s (before dropping privileges).
    /// Throws std::system_error naming the directory.
    void hand_over(unsigned uid, unsigned gid);

    /// One record in segment encoding (header + payload).
    static void encode(std::string_view payload, std::optional<std::uint64_t> seq,
                       std::string& out);
    /// Decodes a whole segment's bytes (magic included).
    [[nodiscard]] static decoded decode(std::string_view segment);

  private:
    struct segment_info {
        std::uint64_t size = 0;  ///< bytes on disk (written by us, or found)
        bool ours = false;       ///< created by this process (its end is never torn)
        /// Read to its end: where its last good record ends (magic size: it had none).
        std::optional<std::uint64_t> good_end;
    };
    [[nodiscard]] std::string segment_path(std::uint64_t id) const;
    bool open_tail();
    void close_tail() noexcept;
    void remove_segment(std::uint64_t id);
    void close_reader() noexcept;
    /// The reader is done with segment `id`; its records end at `good_end`.
    void finish_segment(std::uint64_t id, std::uint64_t good_end);
    [[nodiscard]] bool writing(std::uint64_t id) const noexcept {
        return tail_fd_ && id == tail_id_;
    }
    [[nodiscard]] bool acked_through(std::uint64_t id, std::uint64_t end) const noexcept {
        return acked_ && (acked_->segment > id || (acked_->segment == id && acked_->end >= end));
    }
    void load_acked();

    std::string dir_;
    std::uint64_t max_bytes_;
    std::size_t segment_bytes_;
    std::map<std::uint64_t, segment_info> segments_;
    std::uint64_t bytes_ = 0;  ///< on disk
    os::unique_fd lock_fd_;
    // Writing.
    os::unique_fd tail_fd_;
    std::uint64_t tail_id_ = 0;
    std::uint64_t next_id_ = 0x4000000000000000ULL;  ///< the next segment's number, at least
    std::optional<std::uint64_t> last_found_;  ///< the newest segment an earlier run left
    bool tail_dirty_ = false;
    std::string pending_;
    std::size_t pending_head_ = 0;
    std::vector<std::size_t> pending_ends_;  ///< record ends in pending_, oldest first
    std::size_t pending_done_ = 0;           ///< records of pending_ends_ already complete
    std::error_code last_error_;
    // Reading.
    std::optional<std::uint64_t> read_id_;  ///< the segment being read (none: none yet)
    std::uint64_t read_offset_ = 0;
    os::unique_fd read_fd_;
    std::string read_buffer_;
    // Acknowledged (released) up to here in the oldest segment kept.
    std::optional<location> acked_;
    std::optional<location> acked_saved_;
};

}  // namespace klog::sinks
