#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace klogd {

/// Process-level life of the daemon: detaching from the terminal, dropping privileges,
/// telling a service manager where it stands, and signalling a running klogd.
class daemon {
  public:
    /// Opens /dev/null on each of the descriptors 0, 1 and 2 that is closed, so that no file
    /// opened later becomes standard input, output or error. Call first in main. False when
    /// /dev/null cannot be opened.
    [[nodiscard]] static bool open_standard_fds() noexcept;

    /// Forks. The parent does not return: it waits until the child calls `ready()` (exit 0) or
    /// dies first (exit 1, having let the child's error reach the terminal). The child returns
    /// after setsid(), chdir("/") and pointing standard input (unless `keep_stdin`: it is the
    /// source, --source=-) and output at /dev/null; standard error follows at ready() (unless
    /// `keep_stderr`, for -d), so that an error on the way there reaches the terminal.
    static void detach(bool keep_stderr, bool keep_stdin);

    /// In the detached child: tells the waiting parent that startup succeeded (standard error
    /// goes to /dev/null first, unless detach() was told to keep it).
    static void ready() noexcept;

    /// Switches to `user` (its uid, gid and supplementary groups). Throws std::system_error
    /// naming the user.
    static void drop_privileges(const std::string& user);

    /// --user: the state file's directory becomes the user's before privileges go, so that
    /// the cursor (and the spools beside it) can be written after: made and given when it is
    /// missing, klogd's own /var/lib/klogd handed over when an earlier run made it as root;
    /// any other directory the user cannot write is refused. Throws std::system_error naming
    /// --state-file, the directory and the reason.
    static void hand_over_state_directory(const std::string& state_file, uid_t uid, gid_t gid,
                                          const std::string& user);

    /// Sends `state` ("READY=1", "STOPPING=1") to $NOTIFY_SOCKET when the service manager set
    /// it; does nothing otherwise. Never throws.
    static void notify(std::string_view state) noexcept;

    /// Sends `signo` to the klogd holding `pidfile_path`'s lock (the kernel names it; the
    /// number written in the file is never used). Throws std::system_error (ESRCH, "no klogd
    /// running") when none holds it, or naming the file when it is refused (pidfile): nobody
    /// else is ever signalled.
    static pid_t signal_running(const std::string& pidfile_path, int signo);

  private:
    static int ready_fd_;
    static bool quiet_stderr_;  // detach() left standard error for ready() to close
};

}  // namespace klogd
