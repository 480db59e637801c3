#pragma once

#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <cstdint>
#include <deque>
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
/// order, with the same statuses, errors and exceptions, and the same per-call batches.
///
/// For a source whose reads return without waiting on anyone (a replayed regular file): a
/// worker blocked in read(2) on a pipe could not be stopped by close(). The thread starts at
/// the first `read_available` (after a daemon has forked) and stops at `close()`, which waits
/// for the inner call it is in. Memory: the batches read ahead hold at most `max_ahead` bytes
/// besides the one being handed on (a larger single batch is held alone).
class read_ahead_source final : public source {
  public:
    static constexpr std::size_t max_ahead = 1 << 20;

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

    void run() noexcept;
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
    std::deque<std::unique_ptr<batch>> queue_;
    std::vector<std::unique_ptr<batch>> spare_;  ///< taken batches, for reuse by the thread
    std::size_t queued_bytes_ = 0;
    bool stop_ = false;
    bool thread_waits_ = false;  ///< the thread waits for room (woken below max_ahead / 4)
    bool ended_ = false;  ///< the thread queued its last batch
    std::thread thread_;
};

}  // namespace klog::sources
