#include "klog/sources/proc_kmsg_source.hpp"

#include <cerrno>
#include <system_error>

#include "descriptor_wait.hpp"
#include "klog/os/os.hpp"

namespace klog::sources {

int proc_kmsg_source::open_file(const std::string& path) {
    return os::open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY).release();
}

proc_kmsg_source::proc_kmsg_source(boost::asio::io_context& io, int fd, std::string name)
    : name_(std::move(name)), descriptor_(io, fd), buffer_(buffer_size) {}

read_status proc_kmsg_source::read_available(record_handler& handler, std::error_code& ec) {
    ec.clear();
    if (!descriptor_.is_open()) {
        ec = std::make_error_code(std::errc::bad_file_descriptor);
        return read_status::end;
    }
    const auto got = os::read(descriptor_.native_handle(), buffer_.data(), buffer_.size(), ec);
    if (ec) {
        if (ec == std::errc::resource_unavailable_try_again) {
            ec.clear();
            return read_status::drained;
        }
        return read_status::end;
    }
    if (got == 0) {
        decoder_.finish([&](const record_view& r) { handler.on_record(r); });
        return read_status::end;
    }
    decoder_.feed(std::string_view(buffer_.data(), got),
                  [&](const record_view& r) { handler.on_record(r); });
    return read_status::more;
}

void proc_kmsg_source::async_wait(std::function<void(std::error_code)> done) {
    detail::async_wait_readable(descriptor_, std::move(done));
}

void proc_kmsg_source::close() noexcept {
    boost::system::error_code ignored;
    descriptor_.close(ignored);
}

}  // namespace klog::sources
