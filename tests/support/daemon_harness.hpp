#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace klog_test {

/// The real klogd binary running in the background; killed (SIGKILL) by the destructor if it
/// is still there. Standard error goes to a file, so a test can read the diagnostics.
class background_klogd {
  public:
    /// Starts klogd with `args`; extra environment entries as "NAME=value"; standard input
    /// from `stdin_path`.
    background_klogd(const std::vector<std::string>& args, const std::string& stderr_path,
                     const std::vector<std::string>& env = {},
                     const std::string& stdin_path = "/dev/null");
    ~background_klogd();
    background_klogd(const background_klogd&) = delete;
    background_klogd& operator=(const background_klogd&) = delete;

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    void signal(int signo) const;
    /// Waits for the process to exit; returns its status (128 + signal if killed), or -1 if it
    /// is still running after `timeout`.
    int wait_exit(std::chrono::milliseconds timeout);
    [[nodiscard]] bool running();

  private:
    pid_t pid_ = -1;
    int status_ = -1;
};

/// A listening SOCK_SEQPACKET socket standing in for /dev/kmsg: every message is one record,
/// as every read(2) of /dev/kmsg is. klogd connects to it with --source=kmsg:PATH.
class kmsg_standin {
  public:
    explicit kmsg_standin(std::string path);
    ~kmsg_standin();
    kmsg_standin(const kmsg_standin&) = delete;
    kmsg_standin& operator=(const kmsg_standin&) = delete;

    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    /// Waits for klogd to connect (closing any earlier connection); false on timeout.
    bool accept(std::chrono::milliseconds timeout);
    /// Sends one record on the current connection.
    void send(const std::string& record);
    /// True once klogd has closed its end (TSTP, exit), waiting at most `timeout`.
    bool wait_closed(std::chrono::milliseconds timeout);

  private:
    std::string path_;
    int listen_fd_ = -1;
    int conn_fd_ = -1;
};

/// A stand-in for /dev/kmsg that behaves like the kernel's ring: it keeps the last `capacity`
/// records; every connection (an open of /dev/kmsg) reads from the oldest record still kept and
/// then follows new ones, one SOCK_SEQPACKET message per record; a reader that fell behind the
/// ring (its next record was overwritten) jumps to the oldest kept record — a sequence gap, as
/// after EPIPE. A thread serves it, so the test can add records while klogd is down, paused or
/// restarting. klogd connects with --source=kmsg:PATH.
class kmsg_ring {
  public:
    kmsg_ring(std::string path, std::size_t capacity);
    ~kmsg_ring();
    kmsg_ring(const kmsg_ring&) = delete;
    kmsg_ring& operator=(const kmsg_ring&) = delete;

    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    /// Appends one record (the oldest is overwritten when the ring is full).
    void add(std::string record);
    /// Records added so far.
    [[nodiscard]] std::uint64_t added() const;
    /// Connections accepted so far (klogd starts).
    [[nodiscard]] std::uint64_t connections() const noexcept { return connections_; }
    /// Records the current reader was sent (of all added), 0 without a reader.
    [[nodiscard]] std::uint64_t sent_to_reader() const;

  private:
    void serve();
    void wake() const;

    std::string path_;
    std::size_t capacity_;
    int listen_fd_ = -1;
    int wake_fd_ = -1;
    mutable std::mutex mutex_;
    std::deque<std::string> ring_;
    std::uint64_t first_index_ = 0;  ///< index (of all added) of ring_.front()
    std::uint64_t reader_next_ = 0;  ///< index of the next record for the reader
    bool has_reader_ = false;
    std::atomic<std::uint64_t> connections_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

/// Peak resident memory of a process (VmHWM, KiB), 0 if unknown.
std::uint64_t peak_rss_kib(pid_t pid);

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns the last result.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// Lines of a text file (empty if missing).
std::vector<std::string> file_lines(const std::string& path);

/// A /dev/kmsg record: "PRI,SEQ,TS,-;text\n".
std::string kmsg_record(int pri, std::uint64_t seq, std::uint64_t ts_usec, const std::string& text);

}  // namespace klog_test
