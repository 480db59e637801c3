#pragma once
// The operating-system seam: every system call klogd makes on files, directories and
// descriptors goes through here, once. EINTR is handled here and nowhere else: calls that
// finish at once (reads and writes of files and non-blocking descriptors, fsync, sends) are
// made again; calls that may block for ever (open(2) of a FIFO, syslog(2)'s READ) return it,
// so that a signal (SIGTERM, SIGHUP) gets back to the event loop. A write that makes no
// progress is EIO; errors carry the verb and the path ("cannot open
// /var/lib/klogd/state: Permission denied"). Tests inject faults through it (klog/os/faults.hpp)
// instead of building anything differently.
//
// Error style of this layer (see CONTRIBUTING.md): functions on a path come in two forms, as
// std::filesystem's do — one throws std::system_error, the other takes a std::error_code& and
// is noexcept. Functions on a descriptor return std::error_code: the caller knows the path
// and whether the error is final (EAGAIN on a non-blocking descriptor is not).

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace klog::os {

/// A file descriptor owned by one object: closed when it goes, never twice.
class unique_fd {
  public:
    unique_fd() noexcept = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}
    unique_fd& operator=(unique_fd&& other) noexcept {
        if (this != &other) reset(other.release());
        return *this;
    }
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    /// Gives the descriptor up without closing it.
    int release() noexcept {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }
    /// Closes the descriptor held (errors of close(2) are not actionable) and holds `fd`.
    void reset(int fd = -1) noexcept;

  private:
    int fd_ = -1;
};

/// "cannot VERB PATH" with the error's text after it.
std::system_error failure(int error, std::string_view verb, std::string_view path);
std::system_error failure(std::error_code ec, std::string_view verb, std::string_view path);

// --- paths -----------------------------------------------------------------------------------

/// EINTR is returned (an open of a FIFO blocks until a writer or reader comes; a signal
/// must end the wait).
unique_fd open(const std::string& path, int flags, mode_t mode = 0);
unique_fd open(const std::string& path, int flags, mode_t mode, std::error_code& ec) noexcept;
/// Relative to a directory descriptor (openat(2)).
unique_fd open_at(int dir_fd, const std::string& name, int flags, mode_t mode,
                  std::error_code& ec) noexcept;

void rename(const std::string& from, const std::string& to);
void rename(const std::string& from, const std::string& to, std::error_code& ec) noexcept;
/// link(2): never replaces `to` (EEXIST).
void link(const std::string& from, const std::string& to, std::error_code& ec) noexcept;
/// A missing file is no error.
void unlink(const std::string& path, std::error_code& ec) noexcept;
/// An existing directory is no error.
void make_directory(const std::string& path, mode_t mode, std::error_code& ec) noexcept;
/// mkdir(2) that fails (EEXIST) when the path exists.
void create_new_directory(const std::string& path, mode_t mode, std::error_code& ec) noexcept;

/// lchown(2): the link itself, never what it points to (chown(2) with `follow_links`).
void change_owner(const std::string& path, unsigned uid, unsigned gid, std::error_code& ec,
                  bool follow_links = false) noexcept;
/// access(2) F_OK: whether the path exists (a dangling link does not).
bool exists(const std::string& path) noexcept;
/// access(2) with `mode` (R_OK, W_OK...), for the real user.
std::error_code accessible(const std::string& path, int mode) noexcept;
/// rmdir(2).
void remove_directory(const std::string& path, std::error_code& ec) noexcept;
/// The names in a directory, without "." and "..".
std::vector<std::string> list_directory(const std::string& dir, std::error_code& ec);
/// stat(2) of a path (lstat(2) with `follow_links` false).
std::error_code path_status(const std::string& path, struct stat& st,
                            bool follow_links = true) noexcept;
/// lstat(2): whether `path` is a regular file (not a link to one), and its size.
bool regular_file(const std::string& path, std::uint64_t& size) noexcept;

/// fsync(2) of a directory: makes the creation, renaming or removal of its entries durable.
void sync_directory(const std::string& dir, std::error_code& ec) noexcept;
/// The directory a path's entry is in ("." for a bare name).
std::string directory_of(const std::string& path);

/// How far a replaced file is made durable before replace_file returns.
enum class durability {
    none,                ///< rename only: a crash may leave the old contents (or, rarely, none)
    file,                ///< the new contents are on disk before the rename
    file_and_directory,  ///< and the rename itself is on disk
};

struct replace_options {
    mode_t mode = 0644;
    durability durable = durability::file_and_directory;
    /// The temporary name; "" → PATH.tmp. It must be in the same directory.
    std::string temporary;
};

/// Atomic replacement: writes `contents` to a temporary file, syncs it as `options` say and
/// renames it over `path`. On any error the old file is untouched and the temporary is gone.
void replace_file(const std::string& path, std::string_view contents,
                  const replace_options& options = {});
void replace_file(const std::string& path, std::string_view contents,
                  const replace_options& options, std::error_code& ec) noexcept;

/// The whole file (or its first `max_bytes`) into `out`.
void read_file(const std::string& path, std::string& out, std::size_t max_bytes = SIZE_MAX);
void read_file(const std::string& path, std::string& out, std::size_t max_bytes,
               std::error_code& ec) noexcept;

/// Like read_file, for a file that must be a regular file: no symbolic link is followed and no
/// FIFO or device blocks the caller (EINVAL then); a larger file than `max_bytes` is EFBIG.
void read_regular_file(const std::string& path, std::string& out, std::size_t max_bytes,
                       std::error_code& ec) noexcept;

// --- descriptors -----------------------------------------------------------------------------

/// One read(2): 0 at the end of the file. EINTR is retried; EAGAIN is returned as an error.
std::size_t read(int fd, void* buffer, std::size_t size, std::error_code& ec) noexcept;
/// One pread(2).
std::size_t pread(int fd, void* buffer, std::size_t size, off_t offset,
                  std::error_code& ec) noexcept;
/// Reads until `size` bytes or the end of the file; returns how many were read.
std::size_t read_full(int fd, void* buffer, std::size_t size, std::error_code& ec) noexcept;
std::size_t pread_full(int fd, void* buffer, std::size_t size, off_t offset,
                       std::error_code& ec) noexcept;

/// One write(2): how much the kernel took. A write of nothing with bytes to write is EIO.
std::size_t write(int fd, const void* bytes, std::size_t size, std::error_code& ec) noexcept;
/// Writes all of `bytes` at `offset` (pwrite(2), continued after short writes).
std::size_t pwrite_all(int fd, std::string_view bytes, off_t offset, std::error_code& ec) noexcept;
/// Writes all of `bytes` (short writes are continued); returns how many were written, which is
/// less than the size only with `ec` set.
std::size_t write_all(int fd, std::string_view bytes, std::error_code& ec) noexcept;

/// pipe2(2), both ends close-on-exec: {read end, write end}.
std::pair<unique_fd, unique_fd> pipe();
/// dup2(2): `fd` copied onto `target` (without close-on-exec, as dup2 makes it).
std::error_code duplicate_to(int fd, int target) noexcept;
/// Clears close-on-exec: a child started by exec gets `fd`.
std::error_code make_inheritable(int fd) noexcept;
/// Whether `fd` is an open descriptor.
bool is_open(int fd) noexcept;
/// fstat(2).
std::error_code status(int fd, struct stat& st) noexcept;
/// isatty(3).
bool is_terminal(int fd) noexcept;
/// poll(2) without waiting: whether a read of `fd` would not wait now (bytes are there, or
/// the end, or an error the read will say). An error of poll itself counts as readable, so
/// the read says it.
bool readable_now(int fd) noexcept;
/// The open file's status flags (fcntl F_GETFL: O_APPEND, O_NONBLOCK, the access mode).
int status_flags(int fd, std::error_code& ec) noexcept;
std::error_code sync(int fd) noexcept;
/// sync_file_range(2) with SYNC_FILE_RANGE_WRITE over the whole file: starts writing its dirty
/// pages to the device without waiting, so that a later sync() has less to wait for. Durable
/// only after sync(). Errors are those of the call (a pipe: ESPIPE); an I/O error of the
/// write-back itself is sync()'s to report.
std::error_code start_writeback(int fd) noexcept;
/// A POSIX write lock on the whole file (fcntl F_SETLK): what `fuser`, lslocks and other
/// klogds see.
std::error_code lock_record(int fd) noexcept;
/// The process holding a POSIX write lock on the file, 0 when none is visible from here.
pid_t record_lock_holder(int fd) noexcept;
/// flock(2) LOCK_EX | LOCK_NB: EWOULDBLOCK when another process holds it.
std::error_code lock_exclusive(int fd) noexcept;
std::error_code truncate(int fd, off_t length) noexcept;
/// lseek(2); -1 with `ec` set.
off_t seek(int fd, off_t offset, int whence, std::error_code& ec) noexcept;

// --- sockets and devices ---------------------------------------------------------------------

/// socket(2), close-on-exec.
unique_fd socket(int domain, int type, int protocol, std::error_code& ec) noexcept;
std::error_code bind(int fd, const sockaddr* address, socklen_t length) noexcept;
/// The size of sockaddr_un's sun_path: a Unix socket path must be shorter.
inline constexpr std::size_t max_socket_path = 108;
/// connect(2) to a Unix socket path ("@name": the abstract namespace); a path too long for
/// sockaddr_un is ENAMETOOLONG.
std::error_code connect_unix(int fd, const std::string& path) noexcept;
/// One send(2); EINTR retried. EAGAIN, ENOBUFS and the rest are the caller's to handle.
std::size_t send(int fd, const void* bytes, std::size_t size, int flags,
                 std::error_code& ec) noexcept;
/// One sendto(2) to a Unix socket path ("@name": abstract).
std::size_t send_to_unix(int fd, const std::string& path, std::string_view bytes, int flags,
                         std::error_code& ec) noexcept;
/// One recvfrom(2); EINTR retried.
std::size_t receive_from(int fd, void* buffer, std::size_t size, int flags, sockaddr* from,
                         socklen_t* from_length, std::error_code& ec) noexcept;
std::error_code set_option(int fd, int level, int name, const void* value,
                           socklen_t length) noexcept;
std::error_code get_option(int fd, int level, int name, void* value, socklen_t* length) noexcept;
/// syslog(2) (klogctl): what it returns (bytes read, a level...), -1 with `ec` set. EINTR is
/// returned: READ blocks until the kernel logs something.
int kernel_log(int action, char* buffer, int length, std::error_code& ec) noexcept;
/// ioctl(2) with a pointer argument.
std::error_code io_control(int fd, unsigned long request, void* argument) noexcept;

}  // namespace klog::os
