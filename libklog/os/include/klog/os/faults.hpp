#pragma once
// Fault injection through the OS seam (klog/os/os.hpp): a test says which call fails, how
// (errno, or a short read/write), on which path, after how many good calls and how often.
// Nothing is built differently for it: with no faults in force a call costs one relaxed
// atomic load more.

#include <atomic>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace klog::os {

enum class call : unsigned char {
    open, read, pread, write, fsync, writeback, ftruncate, lseek, rename, link, unlink, mkdir,
    socket, connect, send, receive, klogctl,
    count_  ///< not a call: how many there are
};

struct fault {
    call what = call::write;
    /// The errno the call fails with; 0 with `short_bytes` makes a read or write short instead.
    int error = 0;
    /// Calls that match but go through first.
    unsigned skip = 0;
    /// How many matching calls fail; 0: all of them.
    unsigned times = 1;
    /// Only calls on a path that contains this ("" any). Calls on a descriptor match by the
    /// path it was opened with through the seam.
    std::string path;
    /// With `error` 0: a read or write does at most this many bytes.
    std::size_t short_bytes = 0;
    /// Of the matching calls after `skip`, only every n-th is due (1: each of them).
    unsigned period = 1;
    /// A write that says it wrote everything and wrote nothing: a disk that loses data
    /// silently, which no caller can notice (the test suite's self-check needs one).
    bool lost = false;

    fault& after(unsigned good_calls) {
        skip = good_calls;
        return *this;
    }
    fault& repeat(unsigned n) {
        times = n;
        return *this;
    }
    fault& always() { return repeat(0); }
    fault& every(unsigned n) {
        period = n;
        return *this;
    }
    fault& on(std::string path_part) {
        path = std::move(path_part);
        return *this;
    }
};

/// The call fails with `error` (once, unless said otherwise).
inline fault fail(call what, int error) {
    fault f;
    f.what = what;
    f.error = error;
    return f;
}

/// The read or write does at most `bytes` (once, unless said otherwise).
inline fault shorten(call what, std::size_t bytes) {
    fault f;
    f.what = what;
    f.short_bytes = bytes;
    return f;
}

/// The write reports every byte written and writes none (once, unless said otherwise).
inline fault lose(call what) {
    fault f;
    f.what = what;
    f.lost = true;
    return f;
}

/// The faults in force while it lives (one set at a time).
class scoped_faults {
  public:
    explicit scoped_faults(std::vector<fault> faults);
    ~scoped_faults();
    scoped_faults(const scoped_faults&) = delete;
    scoped_faults& operator=(const scoped_faults&) = delete;
    /// How many calls were failed or shortened (each injected EINTR counts).
    unsigned fired() const;
    /// How many calls of a kind were made through the seam meanwhile (one retried after EINTR
    /// counts once).
    unsigned calls(call what) const;
};

/// I/O that Asio does itself (the tcp, tls and relp outputs' connect, send and receive) does
/// not go through the seam's calls: it asks here before each step whether a test injected a
/// fault for it. `where` names the endpoint (a fault's `path` is matched against it); an
/// injected EINTR is retried, as Asio retries a real one. Nothing when no faults are in force
/// (one relaxed atomic load).
[[nodiscard]] std::error_code asio_step_fault(call what, std::string_view where) noexcept;

namespace detail {
extern std::atomic<bool> faults_active;
/// Returned by `injected` for a write that is to be lost.
constexpr int lost_write = -1;
/// The errno a call fails with (0: it goes on, `size` possibly shortened; `lost_write`).
int injected(call what, const char* path, int fd, std::size_t& size) noexcept;
void opened(int fd, const char* path) noexcept;
void closed(int fd) noexcept;
}  // namespace detail

}  // namespace klog::os
