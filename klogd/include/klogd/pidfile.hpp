#pragma once

#include <sys/types.h>

#include "klog/os/os.hpp"

#include <optional>
#include <string>

namespace klogd {

/// The daemon's pid file. "Is a klogd running, and which process is it?" is answered by the
/// kernel's locks, never by the number written in the file, which anyone able to write the file
/// (or a reused pid) could make name another process:
///  - flock(LOCK_EX), taken when the file is opened (before the daemon forks, so that "already
///    running" reaches the terminal) and shared with the forked daemon: only one klogd per file;
///  - a POSIX write lock (fcntl F_SETLK), taken by the daemon itself in write(): F_GETLK names
///    the process holding it. A write lock needs the file open for writing, which only its
///    owner can do (see below), so no other user can pose as the daemon; and it is not
///    inherited across fork, so it names the daemon, not the parent that started it.
/// The file is opened without following symlinks and refused unless it is a regular file with
/// one link, owned by the user klogd runs as and writable by nobody else (a file planted in a
/// world-writable directory by another user is never adopted). While the daemon runs it must not
/// open the file a second time: closing any descriptor of it would drop the POSIX lock.
class pidfile {
  public:
    /// Opens and locks `path`. Throws std::system_error naming the path when it cannot be
    /// created or is refused, or with EEXIST and "already running (pid N)" when another process
    /// holds it.
    explicit pidfile(std::string path);
    ~pidfile();
    pidfile(const pidfile&) = delete;
    pidfile& operator=(const pidfile&) = delete;

    /// Takes the POSIX lock that names this process (the daemon, after fork) and writes `pid`
    /// into the file. Throws std::system_error naming the path.
    void write(pid_t pid);

    /// Removes the file (shutdown). Only the holder of the lock calls this.
    void remove() noexcept;

    [[nodiscard]] const std::string& path() const noexcept { return path_; }

    /// The pid of the process holding the daemon's lock on `path` (F_GETLK), or nullopt when no
    /// process holds it (no file, stale file). Throws std::system_error naming the path when
    /// the file is refused (not a regular file, a symlink, another owner, writable by others).
    [[nodiscard]] static std::optional<pid_t> running_pid(const std::string& path);

  private:
    std::string path_;
    klog::os::unique_fd fd_;
};

}  // namespace klogd
