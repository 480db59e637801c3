#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace klog_test {

/// The real klogd binary running in the background; killed (SIGKILL) by the destructor if it
/// is still there. Standard error goes to a file, so a test can read the diagnostics.
class background_klogd {
  public:
    /// Starts klogd with `args`; extra environment entries as "NAME=value".
    background_klogd(const std::vector<std::string>& args, const std::string& stderr_path,
                     const std::vector<std::string>& env = {});
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

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns the last result.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// Lines of a text file (empty if missing).
std::vector<std::string> file_lines(const std::string& path);

/// A /dev/kmsg record: "PRI,SEQ,TS,-;text\n".
std::string kmsg_record(int pri, std::uint64_t seq, std::uint64_t ts_usec, const std::string& text);

}  // namespace klog_test
