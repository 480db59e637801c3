#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "klog/sinks/queued_record.hpp"

namespace klog::sinks {

/// A network output's disk spool: a FIFO of records in segment files `<16 hex digits>.spool`
/// in one directory (one directory per output), replayed oldest segment first.
///
/// Segment format: the 8 bytes `KLOGSPL1`, then records, each a 17-byte header — payload
/// length (u32 little endian), CRC-32 of the rest of the header and the payload (u32 LE),
/// flags (u8, bit 0: a sequence number follows), sequence number (u64 LE) — and the payload
/// (the formatted record without framing).
///
/// New records are appended to a segment this process created (never to one left by an
/// earlier run, whose tail may be torn); records taken back from memory (the peer went away)
/// go into a new segment in front of the others, written to a temporary name and renamed.
/// A segment that does not parse (bad magic, bad CRC, torn tail) yields the records before
/// the damage and the number of bytes lost — never a crash. `max_bytes` caps appends;
/// records put back in front may exceed it (they were already accepted in memory).
/// A lock file (flock) keeps two klogds off one directory.
class spool {
  public:
    static constexpr std::string_view magic = "KLOGSPL1";
    static constexpr std::size_t header_size = 17;
    static constexpr std::uint32_t max_record = 1U << 20;

    struct load_result {
        std::vector<queued_record> records;
        std::uint64_t damaged_bytes = 0;  ///< unreadable bytes after the last good record
        std::string file;                 ///< the segment read
    };

    /// Creates `dir` (mode 0700) if needed, locks it and lists its segments. Throws
    /// std::system_error naming the directory.
    spool(std::string dir, std::uint64_t max_bytes, std::size_t segment_bytes = 1U << 20);
    ~spool();
    spool(const spool&) = delete;
    spool& operator=(const spool&) = delete;

    /// Appends one record; false when the cap would be passed (unless `over_cap`) or the write
    /// failed (counted in write_errors).
    bool append(const queued_record& record, bool over_cap = false);
    /// Whether a record of `payload` bytes would fit under the cap now.
    [[nodiscard]] bool fits(std::size_t payload) const noexcept {
        return bytes_ + magic.size() + header_size + payload <= max_bytes_;
    }
    /// Puts `records` in front of everything spooled (one new segment); false on a write error.
    bool prepend(const std::deque<queued_record>& records);
    /// Reads and removes the oldest segment.
    [[nodiscard]] load_result load_head();

    [[nodiscard]] bool empty() const noexcept { return segments_.empty(); }
    [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_; }
    [[nodiscard]] std::size_t segments() const noexcept { return segments_.size(); }
    [[nodiscard]] std::uint64_t write_errors() const noexcept { return write_errors_; }
    [[nodiscard]] const std::string& directory() const noexcept { return dir_; }

    /// One record in segment encoding (header + payload).
    static void encode(const queued_record& record, std::string& out);
    /// Decodes a whole segment's bytes.
    [[nodiscard]] static load_result decode(std::string_view segment);

  private:
    [[nodiscard]] std::string segment_path(std::uint64_t id) const;
    bool write_file(const std::string& path, std::string_view bytes);
    void close_tail() noexcept;

    std::string dir_;
    std::uint64_t max_bytes_;
    std::size_t segment_bytes_;
    std::map<std::uint64_t, std::uint64_t> segments_;  ///< id → size in bytes
    std::uint64_t bytes_ = 0;
    int lock_fd_ = -1;
    int tail_fd_ = -1;
    std::uint64_t tail_id_ = 0;
    std::uint64_t write_errors_ = 0;
    std::string scratch_;
};

}  // namespace klog::sinks
