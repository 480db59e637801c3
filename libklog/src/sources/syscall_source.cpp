#include "klog/sources/syscall_source.hpp"

#include <cerrno>
#include <string_view>
#include <system_error>

namespace klog::sources {

namespace {
constexpr int fallback_buffer_size = 1 << 17;  // when SIZE_BUFFER is refused
constexpr int max_buffer_size = 1 << 30;
}  // namespace

syscall_source::syscall_source(boost::asio::io_context& io, klogctl_fn klogctl,
                               std::chrono::milliseconds poll_interval)
    : klogctl_(std::move(klogctl)), poll_interval_(poll_interval), timer_(io) {}

void syscall_source::read_all(record_handler& handler) {
    int size = klogctl_(klogctl_action::size_buffer, nullptr, 0);
    if (size <= 0) size = fallback_buffer_size;
    std::vector<char> all;
    for (;;) {
        all.resize(static_cast<std::size_t>(size));
        int got;
        do {
            got = klogctl_(klogctl_action::read_all, all.data(), size);
        } while (got < 0 && errno == EINTR);
        if (got < 0) throw std::system_error(errno, std::generic_category(), "syslog(2) READ_ALL");
        // A full buffer may mean the log grew between SIZE_BUFFER and READ_ALL: try larger.
        if (got < size || size >= max_buffer_size) {
            all.resize(static_cast<std::size_t>(got));
            break;
        }
        size *= 2;
    }
    decoders::line_decoder decoder;
    decoder.feed(std::string_view(all.data(), all.size()),
                 [&](const record_view& r) { handler.on_record(r); });
    decoder.finish([&](const record_view& r) { handler.on_record(r); });
}

read_status syscall_source::read_available(record_handler& handler, std::error_code& ec) {
    ec.clear();
    if (!open_) {
        ec = std::make_error_code(std::errc::bad_file_descriptor);
        return read_status::end;
    }
    const int unread = klogctl_(klogctl_action::size_unread, nullptr, 0);
    if (unread < 0) {
        if (errno == EINTR) return read_status::more;
        ec = std::error_code(errno, std::generic_category());
        return read_status::end;
    }
    if (unread == 0) return read_status::drained;
    buffer_.resize(static_cast<std::size_t>(unread));
    // READ blocks only while the buffer is empty; SIZE_UNREAD said it is not, and we are the
    // only destructive reader, so this returns at once.
    const int got = klogctl_(klogctl_action::read, buffer_.data(), unread);
    if (got < 0) {
        if (errno == EINTR) return read_status::more;
        ec = std::error_code(errno, std::generic_category());
        return read_status::end;
    }
    decoder_.feed(std::string_view(buffer_.data(), static_cast<std::size_t>(got)),
                  [&](const record_view& r) { handler.on_record(r); });
    return read_status::more;
}

void syscall_source::async_wait(std::function<void(std::error_code)> done) {
    timer_.expires_after(poll_interval_);
    timer_.async_wait([this, done = std::move(done)](const boost::system::error_code& bec) {
        if (bec || !open_) {
            done(std::make_error_code(std::errc::operation_canceled));
            return;
        }
        done({});
    });
}

void syscall_source::close() noexcept {
    open_ = false;
    timer_.cancel();
}

}  // namespace klog::sources
