#pragma once

#include <cstdint>
#include <string>

#include "klog/sinks/sink.hpp"

namespace klog::sinks {

/// Appends to a file (`-f FILE`, `--output=file:PATH`) or standard output (`-`).
///
/// The file is opened O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC|O_NOFOLLOW with mode 0640 — never
/// truncated, never through a symlink. Writes are batched in memory and written on `flush()`
/// (end of each batch of records) or when the batch grows large; records of level crit or worse
/// are written and fsync'ed at once. A failed write keeps the bytes and is retried on the next
/// flush (counted in `write_errors`; the daemon retries on a timer, e.g. until a full disk has
/// room again); only past `max_pending` bytes are the oldest lines dropped — counted, and said
/// in the file itself by a line of klogd's own once writing works again.
class file_sink final : public sink {
  public:
    static constexpr std::size_t flush_threshold = 64 * 1024;
    static constexpr std::size_t max_pending = 16 * 1024 * 1024;

    /// Opens `path` ("-" = standard output). Throws std::system_error naming the path.
    explicit file_sink(std::string path);
    ~file_sink() override;
    file_sink(const file_sink&) = delete;
    file_sink& operator=(const file_sink&) = delete;

    [[nodiscard]] const std::string& name() const noexcept override { return name_; }
    void write(std::string_view bytes, const record_view& record) override;
    void flush() override;
    /// Reopens the path (after logrotate moved it). Standard output is kept.
    void reopen() override;

    [[nodiscard]] bool has_pending() const noexcept override { return !pending_.empty(); }
    [[nodiscard]] std::error_code last_error() const noexcept override { return last_error_; }
    [[nodiscard]] std::uint64_t write_errors() const noexcept { return write_errors_; }
    [[nodiscard]] std::uint64_t dropped_bytes() const noexcept { return dropped_bytes_; }

  private:
    [[nodiscard]] int open_path() const;
    bool write_pending() noexcept;

    std::string path_;
    std::string name_;
    int fd_ = -1;
    bool is_stdout_ = false;
    std::string pending_;
    std::uint64_t write_errors_ = 0;
    std::uint64_t dropped_bytes_ = 0;
    std::uint64_t dropped_lines_ = 0;  ///< since the last successful write: said in the file
    std::error_code last_error_;
};

}  // namespace klog::sinks
