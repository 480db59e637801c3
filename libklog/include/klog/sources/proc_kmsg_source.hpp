#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <string>
#include <vector>

#include "klog/decoders/line_decoder.hpp"
#include "klog/sources/source.hpp"

namespace klog::sources {

/// Reads `/proc/kmsg`: the text form (`<N>[secs.usecs] text` lines), destructive — what is read
/// here is gone for every other /proc/kmsg or syslog(2) READ reader. Lines split across reads
/// are joined by the line decoder; raw control bytes and NUL are kept.
class proc_kmsg_source final : public source {
  public:
    static constexpr std::size_t buffer_size = 65536;

    /// Opens `path` read-only, non-blocking. Throws std::system_error naming the path.
    static int open_file(const std::string& path);

    /// Takes ownership of `fd`.
    proc_kmsg_source(boost::asio::io_context& io, int fd, std::string name = "/proc/kmsg");

    [[nodiscard]] const std::string& name() const noexcept override { return name_; }
    read_status read_available(record_handler& handler, std::error_code& ec) override;
    void async_wait(std::function<void(std::error_code)> done) override;
    void close() noexcept override;

    /// Lines longer than line_decoder::max_line read so far (each delivered cut, malformed).
    [[nodiscard]] std::uint64_t cut_lines() const noexcept override {
        return decoder_.cut_lines();
    }

  private:
    std::string name_;
    boost::asio::posix::stream_descriptor descriptor_;
    decoders::line_decoder decoder_;
    std::vector<char> buffer_;
};

}  // namespace klog::sources
