#include "klog/sinks/file_sink.hpp"

#include <unistd.h>

#include <cerrno>
#include <exception>
#include <system_error>

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
    learn_position();
    pending_.reserve(s_.write_threshold * 2);
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
    if (is_stdout_) return;  // a terminal, a pipe, or a file shared with the shell: no cut
    struct stat st {};
    if (os::status(fd_.get(), st) || !S_ISREG(st.st_mode)) return;
    positioned_ = true;
    device_ = static_cast<std::uint64_t>(st.st_dev);
    inode_ = static_cast<std::uint64_t>(st.st_ino);
    written_end_ = static_cast<std::uint64_t>(st.st_size);
    last_pos_begin_ = written_end_;
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
        diag(text);
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
    if (!os::status(fd_.get(), st) && static_cast<std::uint64_t>(st.st_size) > plan.position.offset) {
        const auto kept = static_cast<std::uint64_t>(st.st_size) - plan.position.offset;
        const std::string text =
            "klogd: " + name() + ": kept " + std::to_string(kept) +
            " bytes written after the last saved cursor (seq " +
            (plan.seq ? std::to_string(*plan.seq) : std::string("none")) +
            (first ? "): the kernel no longer holds all records after it, so some may be here twice"
                   : "): the kernel gives none of the records after it again, so they stay");
        diag(text);
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
    } else if (pending_.size() - head_ >= s_.write_threshold) {
        write_pending();
    }
}

bool file_sink::write_pending() noexcept {
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
    while (head_ < pending_.size()) {
        std::error_code ec;
        const auto n = os::write(fd_.get(), pending_.data() + head_, pending_.size() - head_, ec);
        if (ec) {
            const int err = ec.value();
            last_error_ = ec;
            // Standard output whose reader is gone can never be written again.
            if (is_stdout_ && (err == EPIPE || err == EBADF)) broken_ = true;
            ok = false;
            break;
        }
        dirty_ = true;
        not_written_back_ += n;
        const std::size_t new_head = head_ + n;
        std::uint64_t end_offset = 0;
        if (positioned_) {
            const off_t at = os::seek(fd_.get(), 0, SEEK_CUR, ec);
            if (ec) {
                positioned_ = false;
            } else {
                end_offset = static_cast<std::uint64_t>(at);
            }
        }
        while (!items_.empty() && items_.front().end <= new_head) {
            const auto& it = items_.front();
            if (positioned_) {
                if (last_pos_ != it.meta.pos) {
                    last_pos_ = it.meta.pos;
                    last_pos_begin_ = written_end_;  // where this item began: the one before ended
                }
                written_end_ = end_offset - (new_head - it.end);
            }
            ++counters_.written;
            front_begin_ = it.end;
            items_.pop_front();
        }
        head_ = new_head;
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
    if (not_written_back_ >= s_.writeback_after && writeback_works_ && !is_stdout_) {
        not_written_back_ = 0;
        if (os::start_writeback(fd_.get())) writeback_works_ = false;  // not a file: fsync alone
    }
    if (ok) last_error_.clear();
    return ok;
}

void file_sink::flush() { write_pending(); }

void file_sink::sync() {
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
