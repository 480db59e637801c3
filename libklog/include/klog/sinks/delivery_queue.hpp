#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "klog/sinks/queued_record.hpp"
#include "klog/sinks/spool.hpp"

namespace klog::sinks {

/// The records of one stream output (tcp, tls) between the pipeline and the collector, in
/// order; no I/O of its own besides the spool, so it is tested without a network.
///
/// Two ways to keep them:
/// - memory: records wait in memory until the collector's TCP acknowledged them; they are safe
///   only then (after kill -9 the cursor has not passed them: the kernel ring still has them).
///   Full at `max_records` / `max_bytes` waiting.
/// - spool: every record is appended to the disk spool first and is safe once written
///   (`write_spool`, end of each batch); records are read back into a window for sending and
///   released from the spool when acknowledged. Full when the spool reaches its cap.
///
/// The transport takes `ready()` entries in order, marks them sent with a token (the stream
/// byte offset just after them), and acknowledges cumulatively by token. When a connection is
/// lost every unacknowledged record is sent again, and after a reset also the acknowledged
/// ones still in the resend window (a collector killed with unread data loses what its TCP
/// had acknowledged).
class delivery_queue {
  public:
    struct limits {
        std::size_t max_records = 10000;       ///< memory: records waiting
        std::size_t max_bytes = 16ULL << 20;   ///< memory: bytes waiting
        std::size_t window_records = 2048;     ///< spool: records read ahead for sending
        std::size_t window_bytes = 1ULL << 20; ///< spool: bytes read ahead
        /// Acknowledged records kept to send again when the collector goes away: those of the
        /// last `resend_age`, at most `resend_bytes` (a collector killed with records its TCP
        /// acknowledged but it had not stored yet loses them otherwise).
        std::size_t resend_bytes = 8ULL << 20;
        std::chrono::milliseconds resend_age{10000};
    };
    using clock = std::chrono::steady_clock;
    struct entry {
        std::string bytes;
        record_meta meta;
        std::uint64_t token = 0;            ///< when sent: the transport's mark
        bool safe = false;                  ///< acknowledged, or on disk
        std::optional<spool::location> at;  ///< its place in the spool
        clock::time_point acked_at{};       ///< when the collector acknowledged it
    };
    /// Makes the notice (in the output's format) for spool bytes that could not be read.
    using damage_notice_fn = std::function<std::string(const spool::damage&)>;

    /// Memory mode without `disk`, spool mode with it.
    explicit delivery_queue(limits l, std::unique_ptr<spool> disk = nullptr);

    // The pipeline's end.
    void push(std::string_view bytes, const record_meta& meta);
    [[nodiscard]] bool full() const noexcept;
    /// Spool mode: writes the records pushed since the last call; returns how many are safe now.
    std::size_t write_spool();

    // The transport's end.
    /// Entries to send now, oldest first (reads ahead from the spool as needed).
    std::size_t ready();
    [[nodiscard]] entry& unsent(std::size_t i) noexcept { return window_[acked_ + sent_ + i]; }
    /// The first `n` ready entries were sent; `token` marks the last.
    void mark_sent(std::size_t n, std::uint64_t token);
    /// Every sent entry whose token is at most `token` is acknowledged; returns how many.
    std::size_t acknowledge(std::uint64_t token, clock::time_point now = clock::now());
    /// Forgets acknowledged records older than `resend_age` (memory back when all is quiet);
    /// true when some are still kept.
    bool forget_old(clock::time_point now = clock::now());
    /// The connection is gone: unacknowledged entries go again (with `reset`, also those in the
    /// resend window); returns how many.
    std::size_t rewind(bool reset);

    [[nodiscard]] std::optional<record_meta> first_unsafe() const noexcept;
    [[nodiscard]] std::size_t unsafe() const noexcept;
    /// Entries in memory not yet acknowledged.
    [[nodiscard]] std::size_t waiting() const noexcept { return window_.size() - acked_; }
    [[nodiscard]] std::size_t unacknowledged() const noexcept { return sent_; }
    /// Nothing left to send or to be acknowledged, spool empty.
    [[nodiscard]] bool idle() const noexcept;
    [[nodiscard]] spool* disk() noexcept { return spool_.get(); }
    [[nodiscard]] const spool* disk() const noexcept { return spool_.get(); }
    void set_damage_notice(damage_notice_fn fn) { damage_notice_ = std::move(fn); }
    [[nodiscard]] std::uint64_t damaged_bytes() const noexcept { return damaged_bytes_; }
    /// The newest kernel record the collector acknowledged, every one before it too.
    [[nodiscard]] std::optional<std::uint64_t> acknowledged_seq() const noexcept {
        return acknowledged_seq_;
    }
    void resume_acknowledged(std::optional<std::uint64_t> seq) noexcept { acknowledged_seq_ = seq; }

  private:
    limits l_;
    std::unique_ptr<spool> spool_;
    std::deque<entry> window_;
    std::size_t acked_ = 0;  ///< [0, acked_): acknowledged, kept for a reset
    std::size_t sent_ = 0;   ///< [acked_, acked_ + sent_): sent, not acknowledged
    std::size_t acked_bytes_ = 0;
    std::size_t waiting_bytes_ = 0;  ///< bytes of entries not acknowledged
    std::size_t unsafe_ = 0;         ///< memory mode: entries not safe
    std::deque<record_meta> spool_pending_;
    damage_notice_fn damage_notice_;
    std::uint64_t damaged_bytes_ = 0;
    std::optional<std::uint64_t> acknowledged_seq_;
};

}  // namespace klog::sinks
