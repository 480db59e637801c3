#pragma once

#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "klog/sources/source.hpp"

namespace klog::sources {

/// Runs another source's reading and decoding on a second thread, one batch ahead: the thread
/// calls the inner source's `read_available` and keeps copies of the records it hands on; this
/// source's `read_available` hands the next batch's copies to the real handler, in the same
/// order, with the same statuses, errors and exceptions. Each inner call is one batch, or
/// several when its copies exceed `max_batch` (each then ends a call here with `more`).
///
/// For a source whose reads return without waiting on anyone (a replayed regular file): a
/// worker blocked in read(2) on a pipe could not be stopped by close(). The thread starts at
/// the first `read_available` (after a daemon has forked) and stops at `close()`, which waits
/// for the inner call it is in. Memory: the batches read ahead hold about `max_ahead` bytes
/// besides the one being handed on and the one being filled, each about `max_batch` (one
/// record larger than that is held alone). Every call of the inner source is handed on, also
/// one that gave nothing, so the loop's thread never waits longer than one inner call.
class read_ahead_source final : public source {
  public:
    /// What the thread may hold ahead, counted as the batches' memory.
    static constexpr std::size_t max_ahead = 1 << 20;
    /// A batch is handed on once its copies reach this, also within one call of the inner
    /// source (which may hand on millions of tiny records at once).
    static constexpr std::size_t max_batch = 256 << 10;

    read_ahead_source(boost::asio::io_context& io, std::unique_ptr<source> inner);
    ~read_ahead_source() override;
    read_ahead_source(const read_ahead_source&) = delete;
    read_ahead_source& operator=(const read_ahead_source&) = delete;

    [[nodiscard]] const std::string& name() const noexcept override { return name_; }
    read_status read_available(record_handler& handler, std::error_code& ec) override;
    void async_wait(std::function<void(std::error_code)> done) override;
    void close() noexcept override;
    /// The inner source's counts as of the end of the batch last taken.
    [[nodiscard]] std::uint64_t cut_lines() const noexcept override { return cut_lines_; }
    [[nodiscard]] std::uint64_t cut_records() const noexcept override { return cut_records_; }

  private:
    struct batch;
    class collector;

    struct stopped;

    void run() noexcept;
    /// The thread: waits while max_ahead is queued; false once close() stops it.
    bool wait_for_room();
    /// The thread: a spare batch, or a new one.
    std::unique_ptr<batch> fresh_batch();
    /// The thread: queues `b` (with the inner source's counts now) for the loop's thread.
    void queue(std::unique_ptr<batch> b);
    /// The thread, within an inner call: queues the full batch `b`, waits for room and puts a
    /// fresh batch in its place; throws `stopped` once close() stops the thread.
    void hand_on(std::unique_ptr<batch>& b);
    /// The next batch from the thread (waits for it); nullptr once closed.
    std::unique_ptr<batch> take();

    boost::asio::io_context& io_;
    std::unique_ptr<source> inner_;
    std::string name_;
    bool closed_ = false;
    bool started_ = false;
    /// The batch being handed on and the next of its entries.
    std::unique_ptr<batch> current_;
    std::size_t next_ = 0;
    std::uint64_t cut_lines_ = 0;
    std::uint64_t cut_records_ = 0;

    std::mutex mutex_;
    std::condition_variable ready_;  ///< a batch was queued (or the thread ended)
    std::condition_variable room_;   ///< a batch was taken, or stop
    /// The queued batches, oldest first: a ring of fixed size, made with this source, so that
    /// queueing allocates nothing (the thread's last word must get through when memory is
    /// out). Each queued batch counts at least 4096 bytes, so at most max_ahead / 4096 + 1
    /// are ever queued.
    static constexpr std::size_t max_queued = max_ahead / 4096 + 4;
    std::vector<std::unique_ptr<batch>> ring_;
    std::size_t ring_head_ = 0;
    std::size_t ring_count_ = 0;
    /// A batch made with this source, for the thread's last one when no batch can be made
    /// (out of memory): it says why, and the loop's thread throws that.
    std::unique_ptr<batch> reserve_;
    std::vector<std::unique_ptr<batch>> spare_;  ///< taken batches, for reuse by the thread
    std::size_t queued_bytes_ = 0;
    bool stop_ = false;
    bool thread_waits_ = false;  ///< the thread waits for room (woken below max_ahead / 4)
    bool ended_ = false;  ///< the thread queued its last batch
    std::thread thread_;
};

}  // namespace klog::sources
