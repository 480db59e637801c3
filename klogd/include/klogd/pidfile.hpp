#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace klogd {

/// The daemon's pid file: created without following symlinks, locked (flock) for the daemon's
/// whole life, so that "is a klogd running?" is answered by the lock, not by a pid that may
/// have been reused. A second daemon is refused without touching the running one's file.
class pidfile {
  public:
    /// Opens and locks `path`. Throws std::system_error naming the path when it cannot be
    /// created, or with EEXIST and "already running (pid N)" when another process holds it.
    explicit pidfile(std::string path);
    ~pidfile();
    pidfile(const pidfile&) = delete;
    pidfile& operator=(const pidfile&) = delete;

    /// Writes `pid` (this process after fork) into the file.
    void write(pid_t pid);

    /// Removes the file (shutdown). Only the holder of the lock calls this.
    void remove() noexcept;

    [[nodiscard]] const std::string& path() const noexcept { return path_; }

    /// The pid of the daemon holding `path` locked, or nullopt when no process holds it (no
    /// file, stale file, unreadable pid).
    [[nodiscard]] static std::optional<pid_t> running_pid(const std::string& path);

  private:
    std::string path_;
    int fd_ = -1;
};

}  // namespace klogd
