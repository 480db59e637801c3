#include "klog/sinks/file_sink.hpp"

#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>

namespace klog::sinks {

namespace {
constexpr std::uint8_t crit_level = 2;
}

namespace {

/// The formatter for an output open on `fd`. Standard output is never closed, not even when
/// making the formatter fails.
std::unique_ptr<formatters::formatter> make_for(os::unique_fd& fd, bool is_stdout,
                                                const file_sink::format_factory& make_format) {
    try {
        return make_format(os::is_terminal(fd.get()));
    } catch (...) {
        if (is_stdout) (void)fd.release();
        throw;
    }
}

}  // namespace

/// One thread that runs write_out() for the block it is given, one block at a time. The sink
/// hands a block over only when the last one's result was taken, and does not touch the block
/// meanwhile.
class file_sink::writer_thread {
  public:
    writer_thread() : thread_([this] { run(); }) {}
    ~writer_thread() {
        {
            const std::lock_guard lock(mutex_);
            quit_ = true;
        }
        wake_.notify_one();
        thread_.join();  // a block given to it is written first
    }
    writer_thread(const writer_thread&) = delete;
    writer_thread& operator=(const writer_thread&) = delete;

    void start(const write_request& j) {
        {
            const std::lock_guard lock(mutex_);
            job_ = j;
            done_ = false;
        }
        busy_ = true;
        wake_.notify_one();
    }
    /// A block was given and its result not taken yet.
    [[nodiscard]] bool busy() const noexcept { return busy_; }
    [[nodiscard]] bool done() {
        const std::lock_guard lock(mutex_);
        return done_;
    }
    write_result wait() {
        std::unique_lock lock(mutex_);
        finished_.wait(lock, [this] { return done_; });
        busy_ = false;
        return result_;
    }

  private:
    void run() {
        std::unique_lock lock(mutex_);
        for (;;) {
            wake_.wait(lock, [this] { return quit_ || job_.has_value(); });
            if (!job_) return;
            const write_request j = *job_;
            job_.reset();
            lock.unlock();
            const auto r = write_out(j);
            lock.lock();
            result_ = r;
            done_ = true;
            finished_.notify_one();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable finished_;
    std::optional<write_request> job_;
    write_result result_;
    bool done_ = false;
    bool quit_ = false;
    bool busy_ = false;   // the sink's thread only
    std::thread thread_;  // last: starts once the rest is ready
};

file_sink::file_sink(std::string path, std::unique_ptr<formatters::formatter> format, settings s)
    : file_sink(
          std::move(path), [&format](bool) { return std::move(format); }, s) {}

file_sink::file_sink(std::string path, std::unique_ptr<formatters::formatter> format)
    : file_sink(std::move(path), std::move(format), settings{}) {}

file_sink::file_sink(std::string path, const format_factory& make_format, settings s)
    : file_sink(open_path(path), path, make_format, s) {}

file_sink::file_sink(os::unique_fd fd, const std::string& path, const format_factory& make_format,
                     settings s)
    : sink(path == "-" ? "stdout" : path, make_for(fd, path == "-", make_format), when_full::block),
      path_(path),
      s_(s),
      fd_(std::move(fd)),
      is_stdout_(path_ == "-") {
    // A block as large as the output may hold would leave it full until finish().
    background_ = s_.background_block != 0 && s_.background_block < s_.max_pending && !is_stdout_;
    learn_position();
    pending_.reserve(background_ ? s_.background_block + s_.write_threshold
                                 : s_.write_threshold * 2);
    if (background_) inflight_.reserve(pending_.capacity());
}

file_sink::~file_sink() {
    write_pending();
    if (is_stdout_) {
        (void)fd_.release();  // the process's, not ours
    } else if (fd_ && dirty_) {
        (void)os::sync(fd_.get());
    }
}

os::unique_fd file_sink::open_path(const std::string& path) {
    if (path == "-") return os::unique_fd(STDOUT_FILENO);
    return os::open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY, 0640);
}

void file_sink::learn_position() {
    positioned_ = false;
    last_pos_.reset();
    torn_at_.reset();
    struct stat st {};
    if (os::status(fd_.get(), st) || !S_ISREG(st.st_mode)) return;
    // Standard output appending to a file (`>>`) is written at its end too: a line left
    // unfinished there is ended as well. Written elsewhere (`1<>`), its end says nothing.
    std::error_code ec;
    const bool at_end = !is_stdout_ || (os::status_flags(fd_.get(), ec) & O_APPEND) != 0;
    if (at_end && !ec && st.st_size > 0 && ends_inside_line(st)) {
        torn_at_ = static_cast<std::uint64_t>(st.st_size);
    }
    if (is_stdout_) return;  // a terminal, a pipe, or a file shared with the shell: no cut
    positioned_ = true;
    device_ = static_cast<std::uint64_t>(st.st_dev);
    inode_ = static_cast<std::uint64_t>(st.st_ino);
    written_end_ = static_cast<std::uint64_t>(st.st_size);
    last_pos_begin_ = written_end_;
}

bool file_sink::ends_inside_line(const struct stat& st) const noexcept {
    // This descriptor's own file, wherever the path now leads (a daemon's chdir("/") with a
    // relative -f, a rename); by the path only where /proc is missing.
    std::error_code ec;
    auto fd = os::open("/proc/self/fd/" + std::to_string(fd_.get()),
                       O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, ec);
    if (ec) fd = os::open(path_, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0, ec);
    struct stat same {};
    char last = '\n';
    if (!ec && !os::status(fd.get(), same) && same.st_dev == st.st_dev &&
        same.st_ino == st.st_ino && os::pread(fd.get(), &last, 1, st.st_size - 1, ec) == 1) {
        return last != '\n';
    }
    diag(name() + ": cannot read its last byte" + (ec ? " (" + ec.message() + ")" : std::string()) +
         ": a line an earlier writer left unfinished there would not be ended");
    return false;
}

bool file_sink::queue_torn_line_notice() noexcept {
    try {
        const std::string text = "klogd: " + name() + ": it ended inside a line (byte " +
                                 std::to_string(*torn_at_) +
                                 ") that an earlier writer did not finish: klogd ended that "
                                 "line there, before its own records";
        // Appended, not `"\n" + ... + "\n"`: GCC 12 at -O3 warned (-Wrestrict, a false one).
        const std::string body = format_notice(text);
        std::string bytes;
        bytes.reserve(body.size() + 2);
        bytes.append(1, '\n').append(body).append(1, '\n');
        item notice;
        notice.meta.pos = UINT64_MAX;
        notice.meta.level = 4;
        // What the cursor may claim stays what it was: the notice goes before all that waits.
        if (!items_.empty()) {
            notice.meta.before = items_.front().meta.before;
        } else if (const auto latest = latest_seq()) {
            notice.meta.before = latest;
        }
        notice.end = head_ + bytes.size();
        pending_.insert(head_, bytes);
        for (auto& it : items_) it.end += bytes.size();
        items_.push_front(notice);
        ++counters_.taken;
        torn_at_.reset();
        diag(text.substr(7));
        return true;
    } catch (const std::exception&) {
        last_error_ = std::make_error_code(std::errc::not_enough_memory);
        return false;
    }
}

std::uint64_t file_sink::truncate_to(const file_position& saved) {
    if (!positioned_ || counters_.written != 0 || head_ != 0) return 0;
    if (saved.device != device_ || saved.inode != inode_) return 0;  // rotated: never touched
    struct stat st {};
    if (os::status(fd_.get(), st)) return 0;
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size <= saved.offset) return 0;  // nothing past it (or truncated by copytruncate)
    if (const auto ec = os::truncate(fd_.get(), static_cast<off_t>(saved.offset))) {
        throw os::failure(ec, "truncate", path_);
    }
    learn_position();
    return size - saved.offset;
}

void file_sink::plan_cut(const file_position& saved, std::optional<std::uint64_t> saved_seq) {
    if (!positioned_) return;
    if (saved.device != device_ || saved.inode != inode_) {
        // Rotated (logrotate's create) since the last saved cursor, then killed before that
        // was saved again: what klogd wrote to the old file after it is there, never touched,
        // and follows here again.
        const std::string text =
            "klogd: " + name() + ": replaced since the cursor was last saved (seq " +
            (saved_seq ? std::to_string(*saved_seq) : std::string("none")) +
            ") and klogd was stopped without saving it: records after it that the old file "
            "holds, if any, follow here again";
        diag(text.substr(7));  // diag adds its own "klogd: "
        say(text);
        return;
    }
    planned_cut_ = planned_cut{saved, saved_seq};
}

void file_sink::cursor_past_kernel() {
    if (!planned_cut_) return;
    decide_cut(true);
    write_pending();
}

bool file_sink::decide_cut(bool cursor_past_kernel) {
    if (!planned_cut_) return true;
    const auto first = first_seq();
    // What the kernel still holds is known from the first record it gives this output (being
    // caught up proves nothing: a source may not have served yet), or from a cursor found past
    // its newest record. A stop before either leaves the decision to the next start: the
    // saved position stays the planned one, and the stop is not clean.
    if (!first && !cursor_past_kernel) return false;
    const auto plan = *planned_cut_;
    planned_cut_.reset();
    // The tail holds records after plan.seq that this run gives again: cutting it is right
    // only if the kernel still has them all (the first record given follows the cursor).
    // A cursor past the kernel's newest record: the kernel gives none of them again, so they
    // stay.
    const bool kernel_has_all = first && (plan.seq ? *first <= *plan.seq + 1 : *first == 0);
    if (kernel_has_all) {
        if (const auto cut = truncate_to(plan.position); cut != 0) {
            diag(name() + ": removed " + std::to_string(cut) +
                 " bytes written after the last saved cursor (written again now)");
        }
        return true;
    }
    struct stat st {};
    if (!os::status(fd_.get(), st) &&
        static_cast<std::uint64_t>(st.st_size) > plan.position.offset) {
        const auto kept = static_cast<std::uint64_t>(st.st_size) - plan.position.offset;
        const std::string text =
            "klogd: " + name() + ": kept " + std::to_string(kept) +
            " bytes written after the last saved cursor (seq " +
            (plan.seq ? std::to_string(*plan.seq) : std::string("none")) +
            (first ? "): the kernel no longer holds all records after it, so some may be here twice"
                   : "): the kernel gives none of the records after it again, so they stay");
        diag(text.substr(7));  // diag adds its own "klogd: "
        say(text);
    }
    return true;
}

std::optional<file_position> file_sink::durable_file_position() const {
    if (!positioned_) return std::nullopt;
    // A cut not decided yet: what follows the saved position is not known to be safe.
    if (planned_cut_) return planned_cut_->position;
    std::uint64_t offset = written_end_;
    // A record partly written (its -2 twin, its loss notice) is not safe: the position ends
    // where it began.
    if (!items_.empty() && last_pos_ == items_.front().meta.pos) offset = last_pos_begin_;
    return file_position{device_, inode_, offset};
}

void file_sink::put(std::string_view bytes, const record_meta& meta) {
    pending_.append(bytes);
    put_appended(meta);
}

void file_sink::put_appended(const record_meta& meta) {
    auto& taken = items_.emplace_back();
    copy_fields(taken.meta, meta);
    taken.end = pending_.size();
    if (meta.level <= crit_level) {
        if (write_pending() && !is_stdout_ && !os::sync(fd_.get())) dirty_ = false;
    } else if (background_) {
        if (pending_.size() >= s_.background_block) hand_off();
    } else if (pending_.size() - head_ >= s_.write_threshold) {
        write_pending();
    }
}

file_sink::write_request file_sink::request(const char* data, std::size_t size) const noexcept {
    write_request w;
    w.fd = fd_.get();
    w.data = data;
    w.size = size;
    w.positioned = positioned_;
    w.is_stdout = is_stdout_;
    w.not_written_back = not_written_back_;
    w.writeback_works = writeback_works_;
    w.writeback_after = s_.writeback_after;
    return w;
}

file_sink::write_result file_sink::write_out(const write_request& w) noexcept {
    write_result r;
    r.positioned = w.positioned;
    r.not_written_back = w.not_written_back;
    r.writeback_works = w.writeback_works;
    while (r.written < w.size) {
        const auto n = os::write(w.fd, w.data + r.written, w.size - r.written, r.ec);
        if (r.ec) break;
        r.written += n;
        r.not_written_back += n;
    }
    if (r.positioned && r.written > 0) {
        std::error_code ec;
        const off_t at = os::seek(w.fd, 0, SEEK_CUR, ec);
        if (ec) {
            r.positioned = false;
        } else {
            r.end_offset = static_cast<std::uint64_t>(at);
        }
    }
    if (r.not_written_back >= w.writeback_after && r.writeback_works && !w.is_stdout) {
        r.not_written_back = 0;
        if (os::start_writeback(w.fd)) r.writeback_works = false;  // not a file: fsync alone
    }
    return r;
}

bool file_sink::take_result(const write_result& r, std::size_t max_items) noexcept {
    if (r.written > 0) dirty_ = true;
    not_written_back_ = r.not_written_back;
    writeback_works_ = r.writeback_works;
    if (!r.positioned) positioned_ = false;
    const std::size_t new_head = head_ + r.written;
    for (std::size_t taken = 0;
         taken < max_items && !items_.empty() && items_.front().end <= new_head; ++taken) {
        const auto& it = items_.front();
        if (positioned_) {
            if (last_pos_ != it.meta.pos) {
                last_pos_ = it.meta.pos;
                last_pos_begin_ = written_end_;  // where this item began: the one before ended
            }
            written_end_ = r.end_offset - (new_head - it.end);
        }
        ++counters_.written;
        front_begin_ = it.end;
        items_.pop_front();
    }
    head_ = new_head;
    if (!r.ec) return true;
    last_error_ = r.ec;
    // Standard output whose reader is gone can never be written again.
    if (is_stdout_ && (r.ec.value() == EPIPE || r.ec.value() == EBADF)) broken_ = true;
    return false;
}

bool file_sink::clean() const noexcept {
    return !closed_ && !planned_cut_ && !save_cursor_ && !torn_at_ && head_ == 0 &&
           front_begin_ == 0 && !last_error_;
}

void file_sink::hand_off() noexcept {
    collect(true);
    if (!background_ || !clean() || pending_.empty()) {
        write_pending();
        return;
    }
    try {
        if (!writer_) writer_ = std::make_unique<writer_thread>();
    } catch (const std::exception&) {
        background_ = false;  // no thread to be had: written here
        write_pending();
        return;
    }
    inflight_.swap(pending_);  // pending_ is now the last block's buffer, emptied
    inflight_items_ = items_.size();
    writer_->start(request(inflight_.data(), inflight_.size()));
}

void file_sink::collect(bool wait) noexcept {
    if (!writer_ || !writer_->busy()) return;
    if (!wait && !writer_->done()) return;
    const auto r = writer_->wait();
    // The items of the block end within inflight_ (head_ and front_begin_ stayed 0: pending_
    // was not written meanwhile).
    const std::size_t before = items_.size();
    take_result(r, inflight_items_);
    const std::size_t left = inflight_items_ - (before - items_.size());
    if (left == 0 && head_ == inflight_.size()) {
        head_ = 0;
        front_begin_ = 0;
    } else {
        // Not all written (an error): what is left of the block goes back in front of
        // pending_, from the start of its first record not written completely, and is
        // written here from now on (the queue is not clean).
        const std::size_t from = front_begin_;
        const std::size_t rest = inflight_.size() - from;
        std::size_t i = 0;
        for (auto& it : items_) {
            if (i++ < left) {
                it.end -= from;
            } else {
                it.end += rest;
            }
        }
        inflight_.erase(0, from);
        inflight_.append(pending_);
        pending_.swap(inflight_);
        head_ -= from;
        front_begin_ = 0;
    }
    inflight_.clear();  // kept for the next block
    inflight_items_ = 0;
}

void file_sink::finishing() {
    if (!background_) return;
    background_ = false;
    write_pending();
}

bool file_sink::write_pending() noexcept {
    collect(true);
    if (closed_) return head_ >= pending_.size();
    if (planned_cut_) {
        try {
            if (!decide_cut()) return true;  // held until the cut is decided
        } catch (const std::exception& e) {
            last_error_ = std::make_error_code(std::errc::io_error);
            planned_cut_.reset();
        }
    }
    // Nothing of the kernel's before the cursor says where it begins (klogd's own notices
    // before the first kernel record may go; from seq 0 the next start knows it anyway).
    if (save_cursor_ && first_seq()) {
        const auto save = std::move(save_cursor_);
        save_cursor_ = nullptr;
        if (*first_seq() > 0) {
            try {
                save();
            } catch (const std::exception&) {
                // The application says why; writing goes on.
            }
        }
    }
    bool ok = true;
    if (head_ < pending_.size() && torn_at_ && !queue_torn_line_notice()) return false;
    if (head_ < pending_.size()) {
        ok = take_result(write_out(request(pending_.data() + head_, pending_.size() - head_)),
                         SIZE_MAX);
    }
    if (head_ == pending_.size()) {
        pending_.clear();
        head_ = 0;
        front_begin_ = 0;
    } else if (front_begin_ >= s_.write_threshold && front_begin_ * 2 >= pending_.size()) {
        // Keep the record written in part whole: a reopen writes it again from its start.
        pending_.erase(0, front_begin_);
        for (auto& it : items_) it.end -= front_begin_;
        head_ -= front_begin_;
        front_begin_ = 0;
    }
    if (ok) last_error_.clear();
    return ok;
}

void file_sink::flush() {
    if (background_) {
        // The end of a batch: the block goes when it is full (or at finish()); the writer
        // thread is waited for only by an output that is full with it (one huge record): the
        // read loop waits on this output until then, as on a write(2) that blocks.
        collect(full());
        if (writer_ && writer_->busy()) return;
        if (clean()) {
            if (pending_.size() >= s_.background_block) hand_off();
            return;
        }
    }
    write_pending();
}

void file_sink::sync() {
    collect(true);
    if (!dirty_ || is_stdout_) return;
    if (!os::sync(fd_.get())) {
        dirty_ = false;
        not_written_back_ = 0;
    }
}

void file_sink::close() {
    write_pending();
    if (head_ > front_begin_ && positioned_ &&
        !os::truncate(fd_.get(), static_cast<off_t>(written_end_))) {
        head_ = front_begin_;
    }
    // Nothing more is written: a record cut off above must not be written again in part.
    closed_ = true;
}

void file_sink::reopen() {
    write_pending();
    if (is_stdout_) return;
    auto fd = open_path(path_);
    if (head_ > front_begin_) {
        // A record written in part (the disk is full): its start is cut off the old file and
        // the whole record goes to the new one — no torn line in either.
        if (positioned_) {
            if (const auto ec = os::truncate(fd_.get(), static_cast<off_t>(written_end_))) {
                last_error_ = ec;
            }
        }
        head_ = front_begin_;
    }
    if (dirty_) (void)os::sync(fd_.get());
    fd_ = std::move(fd);
    dirty_ = false;
    not_written_back_ = 0;
    writeback_works_ = true;  // a new file: asked again
    learn_position();
}

}  // namespace klog::sinks
