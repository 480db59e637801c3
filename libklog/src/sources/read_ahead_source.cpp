#include "klog/sources/read_ahead_source.hpp"

#include <pthread.h>
#include <signal.h>

#include <boost/asio/post.hpp>
#include <system_error>
#include <utility>

namespace klog::sources {

/// What one call of the inner source's read_available handed on, copied, and how it ended.
struct read_ahead_source::batch {
    /// A record or an event, small (the thread writes one per record): the record's scalars,
    /// and where its text, caller and dictionary lie in `bytes` (one after the other).
    struct entry {
        std::uint64_t seq = 0;
        std::uint64_t ts_usec = 0;
        std::uint32_t text_at = 0;
        std::uint32_t text_size = 0;
        std::uint32_t caller_size = 0;
        std::uint32_t dictionary_size = 0;
        std::uint32_t dictionary_count = 0;
        std::uint8_t level = 0;
        std::uint8_t facility = 0;
        char flag = '-';
        std::uint8_t bits = 0;  ///< the flags below
        source_event event = source_event::overrun;
    };
    static constexpr std::uint8_t has_seq = 1, has_ts = 2, malformed = 4, single_line = 8,
                                  own = 16, pstore = 32, is_event = 64;

    std::vector<entry> entries;
    std::string bytes;
    read_status status = read_status::more;
    std::error_code ec;
    std::exception_ptr failure;  ///< what the inner call threw (after the entries)
    std::uint64_t cut_lines = 0;
    std::uint64_t cut_records = 0;
    bool last = false;  ///< the thread's last batch (end, an error, or an exception)

    void clear() noexcept {
        entries.clear();
        bytes.clear();
        status = read_status::more;
        ec.clear();
        failure = nullptr;
        last = false;
    }
    /// What it holds in memory (its capacity: a reused batch keeps what it grew to), and a
    /// little for the batch itself, so that batches of nothing are bounded too.
    [[nodiscard]] std::size_t memory() const noexcept {
        return bytes.capacity() + entries.capacity() * sizeof(entry) + 4096;
    }
    [[nodiscard]] std::size_t size() const noexcept {
        return bytes.size() + entries.size() * sizeof(entry);
    }
    void add(const record_view& r) {
        entry e;
        if (r.seq) {
            e.seq = *r.seq;
            e.bits |= has_seq;
        }
        if (r.ts_usec) {
            e.ts_usec = *r.ts_usec;
            e.bits |= has_ts;
        }
        e.bits |= (r.malformed ? malformed : 0) | (r.single_line ? single_line : 0) |
                  (r.own ? own : 0) | (r.pstore ? pstore : 0);
        e.level = r.level;
        e.facility = r.facility;
        e.flag = r.flag;
        const auto dictionary = r.dictionary.block();
        e.text_at = static_cast<std::uint32_t>(bytes.size());
        e.text_size = static_cast<std::uint32_t>(r.text.size());
        e.caller_size = static_cast<std::uint32_t>(r.caller.size());
        e.dictionary_size = static_cast<std::uint32_t>(dictionary.size());
        e.dictionary_count = static_cast<std::uint32_t>(r.dictionary.size());
        bytes.append(r.text).append(r.caller).append(dictionary);
        entries.push_back(e);
    }
    [[nodiscard]] record_view view(const entry& e) const noexcept {
        record_view r;
        if (e.bits & has_seq) r.seq = e.seq;
        if (e.bits & has_ts) r.ts_usec = e.ts_usec;
        r.malformed = (e.bits & malformed) != 0;
        r.single_line = (e.bits & single_line) != 0;
        r.own = (e.bits & own) != 0;
        r.pstore = (e.bits & pstore) != 0;
        r.level = e.level;
        r.facility = e.facility;
        r.flag = e.flag;
        const char* p = bytes.data() + e.text_at;
        r.text = std::string_view(p, e.text_size);
        p += e.text_size;
        r.caller = std::string_view(p, e.caller_size);
        p += e.caller_size;
        r.dictionary = dictionary_view(std::string_view(p, e.dictionary_size), e.dictionary_count);
        return r;
    }
};

/// The handler the thread gives the inner source: copies into the batch being filled, and
/// hands it on once it holds max_batch bytes (a call of the inner source may hand on any
/// number of records: tiny ones cost more here than in the input). (A source's records carry
/// no incident: that is a later stage's.)
class read_ahead_source::collector final : public record_handler {
  public:
    collector(read_ahead_source& owner, std::unique_ptr<batch>& b) : owner_(owner), b_(b) {}
    void on_record(const record_view& r) override {
        b_->add(r);
        if (b_->size() >= max_batch) owner_.hand_on(b_);
    }
    void on_event(source_event event) override {
        batch::entry e;
        e.bits = batch::is_event;
        e.event = event;
        b_->entries.push_back(e);
    }

  private:
    read_ahead_source& owner_;
    std::unique_ptr<batch>& b_;
};

read_ahead_source::read_ahead_source(boost::asio::io_context& io, std::unique_ptr<source> inner)
    : io_(io),
      inner_(std::move(inner)),
      name_(inner_->name()),
      ring_(max_queued),
      reserve_(std::make_unique<batch>()) {
    // take() keeps up to two batches for reuse after a batch has left the ring: keeping one
    // must not allocate (a bad_alloc there would lose the batch taken).
    spare_.reserve(2);
}

read_ahead_source::~read_ahead_source() { close(); }

/// Thrown through the inner source's call when close() stops the thread while it waits for
/// room (the inner source loses what it was handing on, as on a handler's exception).
struct read_ahead_source::stopped {};

bool read_ahead_source::wait_for_room() {
    std::unique_lock lock(mutex_);
    if (ring_count_ != 0 && queued_bytes_ >= max_ahead) {
        // Full: wait until most of it was taken (one wake-up per refill, not per batch).
        thread_waits_ = true;
        room_.wait(lock, [this] { return stop_ || queued_bytes_ <= max_ahead / 4; });
        thread_waits_ = false;
    }
    return !stop_;
}

std::unique_ptr<read_ahead_source::batch> read_ahead_source::fresh_batch() {
    {
        const std::lock_guard lock(mutex_);
        if (!spare_.empty()) {
            auto b = std::move(spare_.back());
            spare_.pop_back();
            return b;
        }
    }
    return std::make_unique<batch>();
}

void read_ahead_source::queue(std::unique_ptr<batch> b) {
    b->cut_lines = inner_->cut_lines();
    b->cut_records = inner_->cut_records();
    {
        std::unique_lock lock(mutex_);
        // Not reached (wait_for_room keeps the ring below max_queued), but a full ring waits
        // rather than allocating.
        if (ring_count_ == ring_.size()) {
            thread_waits_ = true;
            room_.wait(lock, [this] { return stop_ || ring_count_ < ring_.size(); });
            thread_waits_ = false;
            if (ring_count_ == ring_.size()) return;  // stopped: nobody takes it any more
        }
        queued_bytes_ += b->memory();
        ended_ = b->last;
        ring_[(ring_head_ + ring_count_) % ring_.size()] = std::move(b);
        ++ring_count_;
    }
    ready_.notify_one();
}

void read_ahead_source::hand_on(std::unique_ptr<batch>& b) {
    queue(std::move(b));
    if (!wait_for_room()) throw stopped{};
    b = fresh_batch();
}

void read_ahead_source::run() noexcept {
    // Signals are the main thread's (the daemon's handlers run there).
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    std::unique_ptr<batch> b;
    for (;;) {
        try {
            if (!wait_for_room()) return;
            if (!b) b = fresh_batch();
            collector into(*this, b);
            // The call may hand `b` on and put a fresh batch in its place: its results go into
            // the batch that is there when it returns.
            std::error_code ec;
            const auto status = inner_->read_available(into, ec);
            b->status = status;
            b->ec = ec;
        } catch (const stopped&) {
            return;
        } catch (...) {
            // Out of memory at worst: end as the inner source would have, through the batch
            // made with this source if there is none (making one now may fail the same way,
            // and an exception out of here would end the whole process).
            if (!b) b = std::move(reserve_);
            b->failure = std::current_exception();
            b->status = read_status::end;
        }
        b->last = b->failure || b->status != read_status::more;
        // Handed on even when the call gave nothing (a run of NUL bytes, the rest of a cut
        // record): the loop's thread returns to its events and signals after every call.
        const bool last = b->last;
        queue(std::move(b));
        if (last) return;
    }
}

std::unique_ptr<read_ahead_source::batch> read_ahead_source::take() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [this] { return ring_count_ != 0 || ended_; });
    if (ring_count_ == 0) return nullptr;
    auto b = std::move(ring_[ring_head_]);
    ring_head_ = (ring_head_ + 1) % ring_.size();
    --ring_count_;
    queued_bytes_ -= b->memory();
    // The batch handed on last is kept for the thread to fill again, unless it grew large
    // (a huge record): that memory goes back.
    if (current_ && spare_.size() < 2 && current_->memory() <= 2 * max_batch) {
        current_->clear();
        spare_.push_back(std::move(current_));
    }
    const bool wake =
        thread_waits_ && (queued_bytes_ <= max_ahead / 4 || ring_count_ + 1 == ring_.size());
    lock.unlock();
    if (wake) room_.notify_one();
    return b;
}

read_status read_ahead_source::read_available(record_handler& handler, std::error_code& ec) {
    ec.clear();
    if (closed_) {
        ec = std::make_error_code(std::errc::bad_file_descriptor);
        return read_status::end;
    }
    if (!started_) {
        started_ = true;
        try {
            thread_ = std::thread([this] { run(); });
        } catch (const std::system_error&) {
            // No thread to be had: read here.
        }
    }
    if (!thread_.joinable()) {
        const auto status = inner_->read_available(handler, ec);
        cut_lines_ = inner_->cut_lines();
        cut_records_ = inner_->cut_records();
        return status;
    }
    if (!current_ || (next_ >= current_->entries.size() && !current_->last)) {
        auto b = take();
        if (!b) return read_status::end;  // not reached: the last batch stays current
        current_ = std::move(b);
        next_ = 0;
        cut_lines_ = current_->cut_lines;
        cut_records_ = current_->cut_records;
    }
    const batch& b = *current_;
    // next_ moves before the handler runs: a handler that throws loses the record it was given
    // (as with the inner source), and the next call goes on after it.
    while (next_ < b.entries.size()) {
        const auto& e = b.entries[next_++];
        if (e.bits & batch::is_event) {
            handler.on_event(e.event);
        } else {
            handler.on_record(b.view(e));
        }
    }
    if (!b.last) return read_status::more;
    if (b.failure) std::rethrow_exception(std::exchange(current_->failure, nullptr));
    ec = b.ec;
    return b.status;
}

void read_ahead_source::async_wait(std::function<void(std::error_code)> done) {
    boost::asio::post(io_, [this, done = std::move(done)] {
        done(closed_ ? std::make_error_code(std::errc::operation_canceled) : std::error_code{});
    });
}

void read_ahead_source::close() noexcept {
    if (closed_) return;
    closed_ = true;
    {
        const std::lock_guard lock(mutex_);
        stop_ = true;
    }
    room_.notify_all();
    if (thread_.joinable()) thread_.join();  // after the inner call it is in
    inner_->close();
    for (auto& b : ring_) b.reset();
    ring_count_ = 0;
    spare_.clear();
    current_.reset();
}

}  // namespace klog::sources
