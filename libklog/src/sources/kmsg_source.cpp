#include "klog/sources/kmsg_source.hpp"

#include <cerrno>
#include <system_error>

#include "descriptor_wait.hpp"
#include "klog/decoders/kmsg_decoder.hpp"
#include "klog/os/os.hpp"

namespace klog::sources {

namespace {

/// read(2) through the OS seam, with read(2)'s own interface (the tests' stand-ins have it).
ssize_t seam_read(int fd, void* buffer, std::size_t size) {
    std::error_code ec;
    const auto got = os::read(fd, buffer, size, ec);
    if (ec) {
        errno = ec.value();
        return -1;
    }
    return static_cast<ssize_t>(got);
}

}  // namespace

int kmsg_source::open_device(const std::string& path, bool require_char_device) {
    auto fd = os::open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    struct stat st {};
    if (const auto ec = os::status(fd.get(), st)) throw os::failure(ec, "check", path);
    if (require_char_device && !S_ISCHR(st.st_mode)) {
        throw std::system_error(ENODEV, std::generic_category(),
                                path + " is not a character device");
    }
    return fd.release();
}

kmsg_source::kmsg_source(boost::asio::io_context& io, int fd, std::string name, read_fn read)
    : name_(std::move(name)),
      read_(std::move(read)),
      descriptor_(io, fd),
      arena_(arena_size),
      starts_(static_cast<std::size_t>(batch_records) + 1, 0) {
    scratch_.reserve(2 * buffer_size + 1);
}

void kmsg_source::deliver(record_handler& handler) {
    // next_ moves before the handler runs: a handler that throws loses the record it was given
    // (as when each record was handled as soon as it was read), and the next call delivers the
    // rest of the batch before it reads again.
    while (next_ < count_) {
        const std::size_t k = next_++;
        decoders::parse_kmsg_record(
            std::string_view(arena_.data() + starts_[k], starts_[k + 1] - starts_[k]), scratch_,
            record_);
        handler.on_record(record_);
    }
    next_ = 0;
    count_ = 0;
}

void kmsg_source::say_event(record_handler& handler) {
    if (!event_) return;
    const auto event = *event_;
    event_.reset();
    handler.on_event(event);
}

read_status kmsg_source::read_available(record_handler& handler, std::error_code& ec) {
    ec.clear();
    // What a handler that threw left of the last batch, and what the read after it said.
    deliver(handler);
    say_event(handler);
    if (!descriptor_.is_open()) {
        ec = std::make_error_code(std::errc::bad_file_descriptor);
        return read_status::end;
    }
    const int fd = descriptor_.native_handle();
    // The reads of a batch come first, into one arena, then the records are decoded and
    // delivered: the kernel's read path and klogd's own work each run with their code and data
    // in the caches, rather than evicting each other at every record. Every read is offered a
    // whole buffer_size (the kernel drops a record that does not fit). What the reads say
    // besides records (an overrun, a record lost) is said between the records it came between.
    for (int n = 0; n < batch_records; ++n) {
        if (arena_.size() - starts_[count_] < buffer_size) deliver(handler);
        char* const into = arena_.data() + starts_[count_];
        const ssize_t got = read_ ? read_(fd, into, buffer_size) : seam_read(fd, into, buffer_size);
        if (got > 0) {
            starts_[count_ + 1] = starts_[count_] + static_cast<std::size_t>(got);
            ++count_;
            continue;
        }
        // The read's own errno: the handler's work below makes system calls of its own.
        const int error = got < 0 ? errno : 0;
        if (error == EPIPE) event_ = source_event::overrun;
        if (error == EINVAL) event_ = source_event::record_lost;
        deliver(handler);
        if (got == 0) return read_status::end;
        switch (error) {
            case EINTR:
                --n;
                continue;
            case EAGAIN:
                return read_status::drained;
            case EPIPE:
            case EINVAL:
                say_event(handler);
                continue;
            default:
                ec = std::error_code(error, std::generic_category());
                return read_status::end;
        }
    }
    deliver(handler);
    return read_status::more;
}

void kmsg_source::async_wait(std::function<void(std::error_code)> done) {
    detail::async_wait_readable(descriptor_, std::move(done));
}

void kmsg_source::close() noexcept {
    boost::system::error_code ignored;
    descriptor_.close(ignored);
}

}  // namespace klog::sources
