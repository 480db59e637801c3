#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "klog/record_view.hpp"
#include "klog/sources/source.hpp"

namespace klog::sources {

/// Reads `/dev/kmsg`: one record per read(2), never consuming anything (each open file has its
/// own position), non-blocking, readiness through the io_context. A batch's reads come first,
/// then its records are decoded and delivered, in order (see read_available).
///
/// EAGAIN = drained, EPIPE = overrun (reported, reading continues at the oldest record the ring
/// still holds), EINVAL = a record too large for the buffer was skipped (reported), EINTR =
/// retried, read() returning 0 (a closed stand-in socket) = end, anything else = error.
class kmsg_source final : public source {
  public:
    /// Read buffer: at least the kernel's CONSOLE_EXT_LOG_MAX (8192) plus one.
    static constexpr std::size_t buffer_size = 16384;
    /// Records read per `read_available` call before yielding to other work.
    static constexpr int batch_records = 256;

    /// Opens `path` read-only and non-blocking. Throws std::system_error naming the path when it
    /// cannot be opened, or (with `require_char_device`) when it is not a character device.
    static int open_device(const std::string& path, bool require_char_device = true);

    /// read(2) behind one seam, so tests can play the kernel's error returns. Empty (the
    /// daemon): os::read, called directly.
    using read_fn = std::function<ssize_t(int fd, void* buffer, std::size_t size)>;

    /// Takes ownership of `fd` (an open /dev/kmsg, or a SOCK_SEQPACKET socket in tests).
    kmsg_source(boost::asio::io_context& io, int fd, std::string name = "/dev/kmsg",
                read_fn read = {});

    [[nodiscard]] const std::string& name() const noexcept override { return name_; }
    read_status read_available(record_handler& handler, std::error_code& ec) override;
    void async_wait(std::function<void(std::error_code)> done) override;
    void close() noexcept override;

  private:
    std::string name_;
    read_fn read_;  ///< empty: os::read
    boost::asio::posix::stream_descriptor descriptor_;
    /// Decodes and hands on the records of the batch not delivered yet.
    void deliver(record_handler& handler);
    /// Hands on event_, if any: what a read said after the batch's records.
    void say_event(record_handler& handler);

    /// One batch of records as read, back to back; record k is
    /// [starts_[k], starts_[k + 1]) (starts_[0] is 0); count_ records, next_ the first of them
    /// not handed on yet.
    static constexpr std::size_t arena_size = 4 * buffer_size;
    std::vector<char> arena_;
    std::vector<std::size_t> starts_;
    std::size_t count_ = 0;
    std::size_t next_ = 0;
    std::optional<source_event> event_;
    std::string scratch_;
    record_view record_;  ///< the record being delivered, reused (no clearing per record)
};

}  // namespace klog::sources
