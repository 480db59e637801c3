#pragma once

#include <functional>

namespace klog::sources {

/// The syslog(2) system call (glibc `klogctl`) behind one seam, so tests can stand in for the
/// kernel. Same contract: returns a count or -1 with errno set.
using klogctl_fn = std::function<int(int action, char* buffer, int length)>;

/// The real system call.
[[nodiscard]] klogctl_fn system_klogctl();

/// syslog(2) actions used by klogd (linux/include/linux/syslog.h).
namespace klogctl_action {
inline constexpr int read = 2;           ///< destructive read, blocks while empty
inline constexpr int read_all = 3;       ///< non-destructive read of the whole buffer
inline constexpr int console_level = 8;  ///< set console log level
inline constexpr int size_unread = 9;    ///< bytes waiting for `read`
inline constexpr int size_buffer = 10;   ///< size of the kernel log buffer
}  // namespace klogctl_action

}  // namespace klog::sources
