#include "klog/sources/replay_source.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "klog/decoders/kmsg_decoder.hpp"
#include "klog/os/os.hpp"
#include "klog/text/byte_blocks.hpp"

namespace klog::sources {

namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

/// `PRI,SEQ,TS` followed by ',' or ';' — the start of a /dev/kmsg record.
bool looks_like_kmsg_header(std::string_view s) noexcept {
    int fields = 0;
    std::size_t i = 0;
    while (fields < 3) {
        const std::size_t begin = i;
        while (i < s.size() && is_digit(s[i])) ++i;
        if (i == begin || i >= s.size()) return false;
        ++fields;
        if (fields < 3 && s[i] != ',') return false;
        if (fields == 3) return s[i] == ',' || s[i] == ';';
        ++i;
    }
    return false;
}

}  // namespace

int replay_source::open_file(const std::string& path) {
    if (path == "-") return STDIN_FILENO;
    return os::open(path, O_RDONLY | O_NOCTTY).release();
}

std::optional<replay_format> replay_source::detect(std::string_view head, bool at_end,
                                                   std::size_t looked_at) noexcept {
    if (looks_like_kmsg_header(head)) {
        // The first byte after the first record tells the two saved forms apart: NUL for one
        // record per read(2) saved with NUL separators, the next header for `cat /dev/kmsg`.
        // Newlines before `looked_at` were followed by a blank (the last one may not have had
        // its next byte yet).
        const std::size_t from = std::min(looked_at, head.size());
        for (auto nl = head.find('\n', from > 0 ? from - 1 : 0); nl != std::string_view::npos;
             nl = head.find('\n', nl + 1)) {
            if (nl + 1 >= head.size()) break;
            if (head[nl + 1] == '\0') return replay_format::kmsg_nul;
            if (head[nl + 1] != ' ') return replay_format::kmsg_lines;
        }
        if (!at_end) return std::nullopt;
        return head.find('\0') != std::string_view::npos ? replay_format::kmsg_nul
                                                         : replay_format::kmsg_lines;
    }
    if (head.find('\n') == std::string_view::npos && !at_end) return std::nullopt;
    if (head.size() >= 3 && head[0] == '<' && is_digit(head[1])) return replay_format::dmesg_raw;
    return replay_format::dmesg_plain;
}

replay_source::replay_source(boost::asio::io_context& io, int fd, std::string name)
    : io_(io), fd_(fd), name_(std::move(name)), chunk_(chunk_size) {}

replay_source::~replay_source() { close(); }

void replay_source::close() noexcept {
    if (waiter_) {
        waiter_->cancel();
        waiter_.reset();
    }
    if (fd_ > STDIN_FILENO) os::unique_fd(fd_).reset();
    fd_ = -1;
}

bool replay_source::wait_for_input() noexcept {
    if (fd_ < 0 || waiter_) return waiter_.has_value();
    // Only what can stay quiet and come back: a regular file or a device is read on to its
    // end as before.
    struct stat st {};
    if (os::status(fd_, st) ||
        !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || os::is_terminal(fd_))) {
        return false;
    }
    waiter_.emplace(io_);
    return true;
}

read_status replay_source::read_available(record_handler& handler, std::error_code& ec) {
    ec.clear();
    if (fd_ < 0) {
        ec = std::make_error_code(std::errc::bad_file_descriptor);
        return read_status::end;
    }
    // Kmsg forms: what the last call left (an unfinished record, or records after one whose
    // handler threw) moves to the front, and the read continues right after it; the buffer
    // grows for a record longer than a chunk.
    if (start_ > 0) {
        std::memmove(chunk_.data(), chunk_.data() + start_, filled_ - start_);
        filled_ -= start_;
        start_ = 0;
    }
    // A quiet pipe: nothing read, the loop waits for more (async_wait).
    if (waiter_ && !os::readable_now(fd_)) return read_status::drained;
    if (chunk_.size() - filled_ < chunk_size) chunk_.resize(filled_ + chunk_size);
    const auto got = os::read(fd_, chunk_.data() + filled_, chunk_size, ec);
    if (ec) return read_status::end;
    const auto on_record = [&](const record_view& r) { handler.on_record(r); };
    if (detected_ && kmsg_form()) {
        filled_ += got;
        deliver(handler, got == 0);
    } else if (detected_) {
        decoder_.feed(std::string_view(chunk_.data(), got), on_record);
    } else {
        pending_.append(chunk_.data(), got);
        // Saved /dev/kmsg records tell their form at the first record's end, which may come
        // as late as a record may be long; anything else at a line's end, or never.
        const std::size_t enough = looks_like_kmsg_header(pending_) ? max_record : max_detect;
        const auto format = detect(pending_, got == 0 || pending_.size() >= enough, detected_to_);
        if (!format) {
            detected_to_ = pending_.size();
            return read_status::more;
        }
        format_ = *format;
        detected_ = true;
        if (kmsg_form()) {
            // All read so far goes where records are split from, before any is handed on.
            if (chunk_.size() < pending_.size() + chunk_size) {
                chunk_.resize(pending_.size() + chunk_size);
            }
            filled_ = pending_.copy(chunk_.data(), pending_.size());
            start_ = 0;
            pending_.clear();
            pending_.shrink_to_fit();
            deliver(handler, got == 0);
        } else {
            decoder_ = decoders::line_decoder(format_ == replay_format::dmesg_raw
                                                  ? decoders::line_decoder::prefix::required
                                                  : decoders::line_decoder::prefix::optional);
            decoder_.feed(pending_, on_record);
            pending_.clear();
            pending_.shrink_to_fit();
        }
    }
    if (got == 0) {
        decoder_.finish(on_record);
        return read_status::end;
    }
    return read_status::more;
}

void replay_source::deliver_kmsg_record(record_handler& handler, std::string_view bytes) {
    if (bytes.empty()) return;
    const bool cut = bytes.size() > max_record;
    decoders::parse_kmsg_record(bytes.substr(0, max_record), scratch_, record_);
    if (cut) {
        ++cut_records_;
        record_.malformed = true;  // counted as such; its end is gone
        record_.single_line = false;
    }
    handler.on_record(record_);
}

bool replay_source::skip_cut_rest(bool at_end) {
    const std::string_view bytes(chunk_.data() + start_, filled_ - start_);
    std::size_t end = std::string_view::npos;
    if (format_ == replay_format::kmsg_nul) {
        if (const auto nul = text::find_byte(bytes, '\0'); nul != std::string_view::npos) {
            end = nul + 1;
        }
    } else {
        // The end of a record: a newline not followed by an indented dictionary line.
        for (auto nl = text::find_byte(bytes, '\n'); nl != std::string_view::npos;
             nl = text::find_byte(bytes, '\n', nl + 1)) {
            if (nl + 1 < bytes.size() && bytes[nl + 1] != ' ') {
                end = nl + 1;
                break;
            }
        }
    }
    if (end != std::string_view::npos || at_end) {
        start_ = end != std::string_view::npos ? start_ + end : filled_;
        skipping_ = false;
        return true;
    }
    // All of it is the cut record's; in the lines form a final newline may still end it.
    const bool keep_last =
        format_ == replay_format::kmsg_lines && !bytes.empty() && bytes.back() == '\n';
    start_ = keep_last ? filled_ - 1 : filled_;
    return false;
}

void replay_source::deliver(record_handler& handler, bool at_end) {
    // start_ moves past each record before the handler gets it: a handler that throws loses
    // that record alone, and the next call goes on after it (as kmsg_source does).
    if (skipping_ && !skip_cut_rest(at_end)) {
        scanned_ = 0;
        return;
    }
    const char* const base = chunk_.data();
    const std::string_view bytes(base + start_, filled_ - start_);
    const std::size_t origin = start_;
    // The unfinished record's bytes that earlier calls looked at are not looked at again (a
    // long record read in many pieces was scanned from its start each time); in the lines
    // form its last newline is, as the byte after it decides.
    const std::size_t resume = std::min(scanned_, bytes.size());
    scanned_ = 0;
    if (format_ == replay_format::kmsg_nul) {
        std::size_t from = 0;
        for (auto nul = text::find_byte(bytes, '\0', resume); nul != std::string_view::npos;
             nul = text::find_byte(bytes, '\0', from)) {
            const std::string_view record = bytes.substr(from, nul - from);
            from = nul + 1;
            start_ = origin + from;
            deliver_kmsg_record(handler, record);
        }
    } else {
        // kmsg_lines: a record is its header line plus the indented dictionary lines after it;
        // it is complete once the next unindented line has started.
        std::size_t record_end = 0;  // end of the complete records found so far
        std::size_t pos = resume > 0 ? resume - 1 : 0;
        while (true) {
            const auto nl = text::find_byte(bytes, '\n', pos);
            if (nl == std::string_view::npos) break;
            const std::size_t next = nl + 1;
            if (next < bytes.size() && bytes[next] != ' ') {
                const std::string_view record = bytes.substr(record_end, next - record_end);
                record_end = next;
                start_ = origin + next;
                deliver_kmsg_record(handler, record);
            }
            pos = next;
        }
    }
    if (at_end) {
        const std::string_view rest(base + start_, filled_ - start_);
        start_ = filled_;
        deliver_kmsg_record(handler, rest);
    } else if (filled_ - start_ <= max_record) {
        scanned_ = filled_ - start_;  // all of what is left was looked at
    } else {
        // An unfinished record past the bound: what is read of it goes out cut, the rest is
        // dropped as it comes.
        const std::string_view head(base + start_, filled_ - start_);
        skipping_ = true;
        start_ = filled_;
        if (format_ == replay_format::kmsg_lines && head.back() == '\n') --start_;
        deliver_kmsg_record(handler, head);
    }
}

void replay_source::async_wait(std::function<void(std::error_code)> done) {
    if (waiter_) {
        // A new wait ends the one before (cancelled): TSTP/CONT pairs do not pile waits up.
        waiter_->expires_after(input_check);
        waiter_->async_wait([done = std::move(done)](const boost::system::error_code& ec) {
            done(ec ? std::make_error_code(std::errc::operation_canceled) : std::error_code{});
        });
        return;
    }
    boost::asio::post(io_, [this, done = std::move(done)] {
        done(fd_ < 0 ? std::make_error_code(std::errc::operation_canceled) : std::error_code{});
    });
}

}  // namespace klog::sources
