#include "klog/sinks/file_sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace klog::sinks {

namespace {
constexpr std::uint8_t crit_level = 2;
}

file_sink::file_sink(std::string path)
    : path_(std::move(path)), name_(path_ == "-" ? "stdout" : path_), is_stdout_(path_ == "-") {
    fd_ = is_stdout_ ? STDOUT_FILENO : open_path();
    pending_.reserve(flush_threshold * 2);
}

file_sink::~file_sink() {
    write_pending();
    if (!is_stdout_ && fd_ >= 0) {
        ::fsync(fd_);
        ::close(fd_);
    }
}

int file_sink::open_path() const {
    const int fd = ::open(path_.c_str(),
                          O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0640);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), path_);
    return fd;
}

void file_sink::write(std::string_view bytes, const record_view& record) {
    if (pending_.size() + bytes.size() > max_pending) {
        // The file has refused writes for a long time: drop the oldest whole lines.
        const std::size_t excess = pending_.size() + bytes.size() - max_pending;
        auto cut = pending_.find('\n', excess);
        cut = cut == std::string::npos ? pending_.size() : cut + 1;
        dropped_bytes_ += cut;
        for (std::size_t i = 0; i < cut; ++i) dropped_lines_ += pending_[i] == '\n' ? 1 : 0;
        pending_.erase(0, cut);
    }
    pending_.append(bytes);
    if (record.level <= crit_level) {
        if (write_pending() && !is_stdout_) ::fsync(fd_);
    } else if (pending_.size() >= flush_threshold) {
        write_pending();
    }
}

bool file_sink::write_pending() noexcept {
    if (dropped_lines_ > 0 && !pending_.empty()) {
        const std::string note = "klogd: " + std::to_string(dropped_lines_) +
                                 " lines dropped while " + name_ + " could not be written (" +
                                 last_error_.message() + ")\n";
        pending_.insert(0, note);
        dropped_lines_ = 0;
    }
    std::size_t done = 0;
    while (done < pending_.size()) {
        const ssize_t n = ::write(fd_, pending_.data() + done, pending_.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            ++write_errors_;
            last_error_ = std::error_code(errno, std::generic_category());
            pending_.erase(0, done);
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    pending_.clear();
    last_error_.clear();
    return true;
}

void file_sink::flush() { write_pending(); }

void file_sink::reopen() {
    write_pending();
    if (is_stdout_) return;
    const int fd = open_path();
    ::close(fd_);
    fd_ = fd;
}

}  // namespace klog::sinks
