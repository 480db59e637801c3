#include "klog/os/os.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>

#include "klog/os/faults.hpp"

namespace klog::os {

namespace {

std::error_code error_of(int e) noexcept { return {e, std::generic_category()}; }

/// The injected errno for this call, if a test asked for one (size may be shortened). An
/// injected EINTR is retried as a real one is.
int injected_error(call what, const char* path, int fd, std::size_t& size) noexcept {
    if (!detail::faults_active.load(std::memory_order_relaxed)) return 0;
    for (;;) {
        const int e = detail::injected(what, path, fd, size);
        if (e != EINTR) return e;
    }
}

int injected_error(call what, const char* path, int fd = -1) noexcept {
    std::size_t ignored = SIZE_MAX;
    return injected_error(what, path, fd, ignored);
}

/// The same for a call whose EINTR is the caller's (open, syslog(2)): returned as it is.
int injected_error_once(call what, const char* path) noexcept {
    if (!detail::faults_active.load(std::memory_order_relaxed)) return 0;
    std::size_t ignored = SIZE_MAX;
    return detail::injected(what, path, -1, ignored);
}

/// Runs `f` again while it fails with EINTR.
template <typename F>
auto again(F&& f) noexcept {
    for (;;) {
        const auto r = f();
        if (r >= 0 || errno != EINTR) return r;
    }
}

}  // namespace

void unique_fd::reset(int fd) noexcept {
    if (fd_ >= 0) {
        if (detail::faults_active.load(std::memory_order_relaxed)) detail::closed(fd_);
        ::close(fd_);  // Linux frees the descriptor even when close(2) fails: never again
    }
    fd_ = fd;
}

std::system_error failure(int error, std::string_view verb, std::string_view path) {
    return failure(error_of(error), verb, path);
}

std::system_error failure(std::error_code ec, std::string_view verb, std::string_view path) {
    std::string what = "cannot ";
    what += verb;
    what += ' ';
    what += path;
    return {ec, what};
}

unique_fd open(const std::string& path, int flags, mode_t mode) {
    std::error_code ec;
    auto fd = open(path, flags, mode, ec);
    if (ec) throw failure(ec, "open", path);
    return fd;
}

unique_fd open(const std::string& path, int flags, mode_t mode, std::error_code& ec) noexcept {
    return open_at(AT_FDCWD, path, flags, mode, ec);
}

unique_fd open_at(int dir_fd, const std::string& name, int flags, mode_t mode,
                  std::error_code& ec) noexcept {
    ec.clear();
    if (const int e = injected_error_once(call::open, name.c_str())) {
        ec = error_of(e);
        return {};
    }
    // Not made again after EINTR: see os.hpp.
    const int fd = ::openat(dir_fd, name.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) {
        ec = error_of(errno);
        return {};
    }
    if (detail::faults_active.load(std::memory_order_relaxed)) detail::opened(fd, name.c_str());
    return unique_fd(fd);
}

void rename(const std::string& from, const std::string& to) {
    std::error_code ec;
    rename(from, to, ec);
    if (ec) throw failure(ec, "rename " + from + " to", to);
}

void rename(const std::string& from, const std::string& to, std::error_code& ec) noexcept {
    ec.clear();
    if (const int e = injected_error(call::rename, to.c_str())) {
        ec = error_of(e);
    } else if (::rename(from.c_str(), to.c_str()) != 0) {
        ec = error_of(errno);
    }
}

void link(const std::string& from, const std::string& to, std::error_code& ec) noexcept {
    ec.clear();
    if (const int e = injected_error(call::link, to.c_str())) {
        ec = error_of(e);
    } else if (::link(from.c_str(), to.c_str()) != 0) {
        ec = error_of(errno);
    }
}

void unlink(const std::string& path, std::error_code& ec) noexcept {
    ec.clear();
    if (const int e = injected_error(call::unlink, path.c_str())) {
        ec = error_of(e);
    } else if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        ec = error_of(errno);
    }
}

void create_new_directory(const std::string& path, mode_t mode, std::error_code& ec) noexcept {
    ec.clear();
    if (const int e = injected_error(call::mkdir, path.c_str())) {
        ec = error_of(e);
    } else if (::mkdir(path.c_str(), mode) != 0) {
        ec = error_of(errno);
    }
}

void make_directory(const std::string& path, mode_t mode, std::error_code& ec) noexcept {
    ec.clear();
    if (const int e = injected_error(call::mkdir, path.c_str())) {
        ec = error_of(e);
    } else if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
        ec = error_of(errno);
    }
}

void change_owner(const std::string& path, unsigned uid, unsigned gid, std::error_code& ec,
                  bool follow_links) noexcept {
    ec.clear();
    const auto u = static_cast<uid_t>(uid);
    const auto g = static_cast<gid_t>(gid);
    if ((follow_links ? ::chown(path.c_str(), u, g) : ::lchown(path.c_str(), u, g)) != 0) {
        ec = error_of(errno);
    }
}

bool exists(const std::string& path) noexcept { return ::access(path.c_str(), F_OK) == 0; }

std::error_code accessible(const std::string& path, int mode) noexcept {
    if (::access(path.c_str(), mode) != 0) return error_of(errno);
    return {};
}

void remove_directory(const std::string& path, std::error_code& ec) noexcept {
    ec.clear();
    if (::rmdir(path.c_str()) != 0) ec = error_of(errno);
}

std::vector<std::string> list_directory(const std::string& dir, std::error_code& ec) {
    ec.clear();
    std::vector<std::string> names;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        ec = error_of(errno);
        return names;
    }
    const std::unique_ptr<DIR, int (*)(DIR*)> guard(d, ::closedir);
    for (;;) {
        errno = 0;  // readdir(3) says end and error apart only by errno
        const dirent* e = ::readdir(d);
        if (e == nullptr) {
            if (errno != 0) ec = error_of(errno);
            break;
        }
        const std::string_view name(e->d_name);
        if (name != "." && name != "..") names.emplace_back(name);
    }
    return names;
}

std::error_code path_status(const std::string& path, struct stat& st, bool follow_links) noexcept {
    const int r = follow_links ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
    if (r != 0) return error_of(errno);
    return {};
}

bool regular_file(const std::string& path, std::uint64_t& size) noexcept {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
    size = static_cast<std::uint64_t>(st.st_size);
    return true;
}

std::string directory_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

void sync_directory(const std::string& dir, std::error_code& ec) noexcept {
    const auto fd = open(dir, O_RDONLY | O_DIRECTORY, 0, ec);
    if (!ec) ec = sync(fd.get());
}

void replace_file(const std::string& path, std::string_view contents,
                  const replace_options& options) {
    std::error_code ec;
    replace_file(path, contents, options, ec);
    if (ec) throw failure(ec, "write", path);
}

void replace_file(const std::string& path, std::string_view contents,
                  const replace_options& options, std::error_code& ec) noexcept {
    std::string tmp;
    try {
        tmp = options.temporary.empty() ? path + ".tmp" : options.temporary;
    } catch (...) {
        ec = error_of(ENOMEM);
        return;
    }
    {
        const auto fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, options.mode, ec);
        if (ec) return;
        write_all(fd.get(), contents, ec);
        if (!ec && options.durable != durability::none) ec = sync(fd.get());
    }
    if (!ec) rename(tmp, path, ec);
    if (ec) {
        std::error_code ignored;
        unlink(tmp, ignored);
        return;
    }
    if (options.durable == durability::file_and_directory) {
        // The new contents are in place; a directory that cannot be synced does not undo that.
        std::error_code ignored;
        try {
            sync_directory(directory_of(path), ignored);
        } catch (...) {
        }
    }
}

void read_file(const std::string& path, std::string& out, std::size_t max_bytes) {
    std::error_code ec;
    read_file(path, out, max_bytes, ec);
    if (ec) throw failure(ec, "read", path);
}

namespace {

void read_all(int fd, std::string& out, std::size_t max_bytes, std::error_code& ec) noexcept {
    try {
        std::size_t used = 0;
        while (used < max_bytes) {
            const auto room =
                std::min<std::size_t>(max_bytes - used, std::max<std::size_t>(out.size(), 1 << 16));
            out.resize(used + room);
            const auto n = read(fd, out.data() + used, room, ec);
            if (ec || n == 0) break;
            used += n;
        }
        out.resize(used);
    } catch (...) {
        ec = error_of(ENOMEM);
    }
}

}  // namespace

void read_file(const std::string& path, std::string& out, std::size_t max_bytes,
               std::error_code& ec) noexcept {
    out.clear();
    const auto fd = open(path, O_RDONLY, 0, ec);
    if (!ec) read_all(fd.get(), out, max_bytes, ec);
}

void read_regular_file(const std::string& path, std::string& out, std::size_t max_bytes,
                       std::error_code& ec) noexcept {
    out.clear();
    const auto fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0, ec);
    if (ec) return;
    struct stat st {};
    ec = status(fd.get(), st);
    if (ec) return;
    if (!S_ISREG(st.st_mode)) {
        ec = error_of(EINVAL);
        return;
    }
    if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
        ec = error_of(EFBIG);
        return;
    }
    // One more byte than allowed: a file that grew meanwhile is seen as too large.
    read_all(fd.get(), out, max_bytes == SIZE_MAX ? max_bytes : max_bytes + 1, ec);
    if (!ec && out.size() > max_bytes) {
        out.clear();
        ec = error_of(EFBIG);
    }
}

std::size_t read(int fd, void* buffer, std::size_t size, std::error_code& ec) noexcept {
    ec.clear();
    if (const int e = injected_error(call::read, nullptr, fd, size)) {
        ec = error_of(e);
        return 0;
    }
    const auto n = again([&] { return ::read(fd, buffer, size); });
    if (n < 0) {
        ec = error_of(errno);
        return 0;
    }
    return static_cast<std::size_t>(n);
}

std::size_t pread(int fd, void* buffer, std::size_t size, off_t offset,
                  std::error_code& ec) noexcept {
    ec.clear();
    if (const int e = injected_error(call::pread, nullptr, fd, size)) {
        ec = error_of(e);
        return 0;
    }
    const auto n = again([&] { return ::pread(fd, buffer, size, offset); });
    if (n < 0) {
        ec = error_of(errno);
        return 0;
    }
    return static_cast<std::size_t>(n);
}

std::size_t read_full(int fd, void* buffer, std::size_t size, std::error_code& ec) noexcept {
    std::size_t have = 0;
    auto* p = static_cast<char*>(buffer);
    while (have < size) {
        const auto n = read(fd, p + have, size - have, ec);
        if (ec || n == 0) break;
        have += n;
    }
    return have;
}

std::size_t pread_full(int fd, void* buffer, std::size_t size, off_t offset,
                       std::error_code& ec) noexcept {
    std::size_t have = 0;
    auto* p = static_cast<char*>(buffer);
    while (have < size) {
        const auto n = pread(fd, p + have, size - have, offset + static_cast<off_t>(have), ec);
        if (ec || n == 0) break;
        have += n;
    }
    return have;
}

std::size_t write(int fd, const void* bytes, std::size_t size, std::error_code& ec) noexcept {
    ec.clear();
    if (size == 0) return 0;
    if (const int e = injected_error(call::write, nullptr, fd, size)) {
        if (e == detail::lost_write) return size;
        ec = error_of(e);
        return 0;
    }
    const auto n = again([&] { return ::write(fd, bytes, size); });
    if (n < 0) {
        ec = error_of(errno);
        return 0;
    }
    if (n == 0) ec = error_of(EIO);
    return static_cast<std::size_t>(n);
}

std::size_t pwrite_all(int fd, std::string_view bytes, off_t offset, std::error_code& ec) noexcept {
    std::size_t done = 0;
    ec.clear();
    while (done < bytes.size()) {
        std::size_t size = bytes.size() - done;
        if (const int e = injected_error(call::write, nullptr, fd, size)) {
            if (e == detail::lost_write) {
                done += size;
                continue;
            }
            ec = error_of(e);
            break;
        }
        const auto n = again([&] {
            return ::pwrite(fd, bytes.data() + done, size, offset + static_cast<off_t>(done));
        });
        if (n <= 0) {
            ec = error_of(n < 0 ? errno : EIO);
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    return done;
}

std::size_t write_all(int fd, std::string_view bytes, std::error_code& ec) noexcept {
    std::size_t done = 0;
    ec.clear();
    while (done < bytes.size()) {
        const auto n = write(fd, bytes.data() + done, bytes.size() - done, ec);
        done += n;
        if (ec) break;
    }
    return done;
}

std::error_code sync(int fd) noexcept {
    if (const int e = injected_error(call::fsync, nullptr, fd)) return error_of(e);
    if (again([&] { return ::fsync(fd); }) != 0) return error_of(errno);
    return {};
}

std::error_code start_writeback(int fd) noexcept {
    if (const int e = injected_error(call::writeback, nullptr, fd)) return error_of(e);
    if (again([&] { return ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE); }) != 0) {
        return error_of(errno);
    }
    return {};
}

std::pair<unique_fd, unique_fd> pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw failure(errno, "make", "a pipe");
    return {unique_fd(fds[0]), unique_fd(fds[1])};
}

std::error_code duplicate_to(int fd, int target) noexcept {
    if (again([&] { return ::dup2(fd, target); }) < 0) return error_of(errno);
    return {};
}

std::error_code make_inheritable(int fd) noexcept {
    if (::fcntl(fd, F_SETFD, 0) != 0) return error_of(errno);
    return {};
}

bool is_open(int fd) noexcept { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

std::error_code status(int fd, struct stat& st) noexcept {
    if (::fstat(fd, &st) != 0) return error_of(errno);
    return {};
}

bool is_terminal(int fd) noexcept { return ::isatty(fd) == 1; }

bool readable_now(int fd) noexcept {
    pollfd p{fd, POLLIN, 0};
    const int n = again([&] { return ::poll(&p, 1, 0); });
    return n != 0;
}

int status_flags(int fd, std::error_code& ec) noexcept {
    ec.clear();
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0) ec = error_of(errno);
    return flags;
}

std::error_code lock_record(int fd) noexcept {
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    if (again([&] { return ::fcntl(fd, F_SETLK, &lock); }) != 0) return error_of(errno);
    return {};
}

pid_t record_lock_holder(int fd) noexcept {
    struct flock query {};
    query.l_type = F_RDLCK;  // conflicts with write locks only: readers cannot pose as holders
    query.l_whence = SEEK_SET;
    if (::fcntl(fd, F_GETLK, &query) != 0 || query.l_type == F_UNLCK || query.l_pid <= 0) {
        return 0;
    }
    return query.l_pid;
}

std::error_code lock_exclusive(int fd) noexcept {
    if (again([&] { return ::flock(fd, LOCK_EX | LOCK_NB); }) != 0) return error_of(errno);
    return {};
}

std::error_code truncate(int fd, off_t length) noexcept {
    if (const int e = injected_error(call::ftruncate, nullptr, fd)) return error_of(e);
    if (again([&] { return ::ftruncate(fd, length); }) != 0) return error_of(errno);
    return {};
}

off_t seek(int fd, off_t offset, int whence, std::error_code& ec) noexcept {
    ec.clear();
    if (const int e = injected_error(call::lseek, nullptr, fd)) {
        ec = error_of(e);
        return -1;
    }
    const off_t at = ::lseek(fd, offset, whence);
    if (at < 0) ec = error_of(errno);
    return at;
}

unique_fd socket(int domain, int type, int protocol, std::error_code& ec) noexcept {
    ec.clear();
    if (const int e = injected_error(call::socket, nullptr)) {
        ec = error_of(e);
        return {};
    }
    const int fd = ::socket(domain, type | SOCK_CLOEXEC, protocol);
    if (fd < 0) {
        ec = error_of(errno);
        return {};
    }
    return unique_fd(fd);
}

std::error_code bind(int fd, const sockaddr* address, socklen_t length) noexcept {
    if (::bind(fd, address, length) != 0) return error_of(errno);
    return {};
}

static_assert(max_socket_path == sizeof(sockaddr_un::sun_path));

namespace {

bool unix_address(const std::string& path, sockaddr_un& addr, socklen_t& length) noexcept {
    addr = {};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path) return false;
    std::memcpy(addr.sun_path, path.data(), path.size());
    if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
    length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
    return true;
}

}  // namespace

std::error_code connect_unix(int fd, const std::string& path) noexcept {
    sockaddr_un addr{};
    socklen_t length = 0;
    if (!unix_address(path, addr, length)) return error_of(ENAMETOOLONG);
    if (const int e = injected_error(call::connect, path.c_str())) return error_of(e);
    // Connecting a Unix socket completes at once or fails; EINTR: the connection stands.
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), length) != 0 && errno != EINTR) {
        return error_of(errno);
    }
    return {};
}

std::size_t send(int fd, const void* bytes, std::size_t size, int flags,
                 std::error_code& ec) noexcept {
    ec.clear();
    if (const int e = injected_error(call::send, nullptr, fd, size)) {
        ec = error_of(e);
        return 0;
    }
    const auto n = again([&] { return ::send(fd, bytes, size, flags); });
    if (n < 0) {
        ec = error_of(errno);
        return 0;
    }
    return static_cast<std::size_t>(n);
}

std::size_t send_to_unix(int fd, const std::string& path, std::string_view bytes, int flags,
                         std::error_code& ec) noexcept {
    ec.clear();
    sockaddr_un addr{};
    socklen_t length = 0;
    if (!unix_address(path, addr, length)) {
        ec = error_of(ENAMETOOLONG);
        return 0;
    }
    std::size_t size = bytes.size();
    if (const int e = injected_error(call::send, path.c_str(), fd, size)) {
        ec = error_of(e);
        return 0;
    }
    const auto n = again([&] {
        return ::sendto(fd, bytes.data(), size, flags, reinterpret_cast<const sockaddr*>(&addr),
                        length);
    });
    if (n < 0) {
        ec = error_of(errno);
        return 0;
    }
    return static_cast<std::size_t>(n);
}

std::size_t receive_from(int fd, void* buffer, std::size_t size, int flags, sockaddr* from,
                         socklen_t* from_length, std::error_code& ec) noexcept {
    ec.clear();
    if (const int e = injected_error(call::receive, nullptr, fd, size)) {
        ec = error_of(e);
        return 0;
    }
    const auto n = again([&] { return ::recvfrom(fd, buffer, size, flags, from, from_length); });
    if (n < 0) {
        ec = error_of(errno);
        return 0;
    }
    return static_cast<std::size_t>(n);
}

std::error_code set_option(int fd, int level, int name, const void* value,
                           socklen_t length) noexcept {
    if (::setsockopt(fd, level, name, value, length) != 0) return error_of(errno);
    return {};
}

std::error_code get_option(int fd, int level, int name, void* value, socklen_t* length) noexcept {
    if (::getsockopt(fd, level, name, value, length) != 0) return error_of(errno);
    return {};
}

int kernel_log(int action, char* buffer, int length, std::error_code& ec) noexcept {
    ec.clear();
    if (const int e = injected_error_once(call::klogctl, nullptr)) {
        ec = error_of(e);
        return -1;
    }
    const int r = ::klogctl(action, buffer, length);  // EINTR returned: see os.hpp
    if (r < 0) ec = error_of(errno);
    return r;
}

std::error_code io_control(int fd, unsigned long request, void* argument) noexcept {
    if (again([&] { return ::ioctl(fd, request, argument); }) != 0) return error_of(errno);
    return {};
}

}  // namespace klog::os
