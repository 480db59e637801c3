#include "daemon_harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <thread>

#include "test_support.hpp"

extern char** environ;

namespace klog_test {

background_klogd::background_klogd(const std::vector<std::string>& args,
                                   const std::string& stderr_path,
                                   const std::vector<std::string>& env,
                                   const std::string& stdin_path) {
    std::vector<std::string> argv_s{klogd_binary()};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    for (char** e = environ; *e != nullptr; ++e) env_s.emplace_back(*e);
    env_s.insert(env_s.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, stdin_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
}

background_klogd::~background_klogd() {
    if (running()) {
        ::kill(pid_, SIGKILL);
        wait_exit(std::chrono::seconds(5));
    }
}

void background_klogd::signal(int signo) const { REQUIRE(::kill(pid_, signo) == 0); }

bool background_klogd::running() {
    if (status_ >= 0) return false;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return false;
    }
    return true;
}

int background_klogd::wait_exit(std::chrono::milliseconds timeout) {
    eventually([&] { return !running(); }, timeout);
    return status_;
}

kmsg_standin::kmsg_standin(std::string path) : path_(std::move(path)) {
    listen_fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    REQUIRE(listen_fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(path_.size() < sizeof addr.sun_path);
    std::memcpy(addr.sun_path, path_.c_str(), path_.size());
    ::unlink(path_.c_str());
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listen_fd_, 4) == 0);
}

kmsg_standin::~kmsg_standin() {
    if (conn_fd_ >= 0) ::close(conn_fd_);
    ::close(listen_fd_);
    ::unlink(path_.c_str());
}

bool kmsg_standin::accept(std::chrono::milliseconds timeout) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
    if (conn_fd_ >= 0) ::close(conn_fd_);
    conn_fd_ = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    return conn_fd_ >= 0;
}

void kmsg_standin::send(const std::string& record) {
    REQUIRE(conn_fd_ >= 0);
    REQUIRE(::send(conn_fd_, record.data(), record.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(record.size()));
}

bool kmsg_standin::wait_closed(std::chrono::milliseconds timeout) {
    if (conn_fd_ < 0) return true;
    pollfd p{conn_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
    char byte;
    return ::recv(conn_fd_, &byte, 1, MSG_DONTWAIT) == 0 || (p.revents & POLLHUP) != 0;
}

kmsg_ring::kmsg_ring(std::string path, std::size_t capacity)
    : path_(std::move(path)), capacity_(capacity) {
    listen_fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    REQUIRE(listen_fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(path_.size() < sizeof addr.sun_path);
    std::memcpy(addr.sun_path, path_.c_str(), path_.size());
    ::unlink(path_.c_str());
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listen_fd_, 4) == 0);
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    REQUIRE(wake_fd_ >= 0);
    thread_ = std::thread([this] { serve(); });
}

kmsg_ring::~kmsg_ring() {
    stop_ = true;
    wake();
    thread_.join();
    ::close(wake_fd_);
    ::close(listen_fd_);
    ::unlink(path_.c_str());
}

void kmsg_ring::wake() const {
    const std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
}

void kmsg_ring::add(std::string record) {
    {
        const std::lock_guard lock(mutex_);
        ring_.push_back(std::move(record));
        if (ring_.size() > capacity_) {
            ring_.pop_front();
            ++first_index_;
        }
    }
    wake();
}

std::uint64_t kmsg_ring::added() const {
    const std::lock_guard lock(mutex_);
    return first_index_ + ring_.size();
}

std::uint64_t kmsg_ring::sent_to_reader() const {
    const std::lock_guard lock(mutex_);
    return has_reader_ ? reader_next_ : 0;
}

void kmsg_ring::serve() {
    int client = -1;
    while (!stop_) {
        bool pending = false;
        {
            const std::lock_guard lock(mutex_);
            pending = client >= 0 && reader_next_ < first_index_ + ring_.size();
        }
        pollfd fds[3] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0},
                         {client, static_cast<short>(pending ? POLLOUT : 0), 0}};
        if (::poll(fds, client >= 0 ? 3 : 2, 200) < 0) continue;
        if ((fds[1].revents & POLLIN) != 0) {
            std::uint64_t n = 0;
            (void)!::read(wake_fd_, &n, sizeof n);
        }
        bool accepted = false;
        if ((fds[0].revents & POLLIN) != 0) {
            const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (c >= 0) {
                accepted = true;
                if (client >= 0) ::close(client);
                client = c;
                ++connections_;
                const std::lock_guard lock(mutex_);
                reader_next_ = first_index_;  // a new open reads from the oldest record kept
                has_reader_ = true;
            }
        }
        if (client < 0) continue;
        // (fds[2] was the connection before a new one was accepted: its hangup is not this one's)
        if (!accepted && (fds[2].revents & (POLLHUP | POLLERR)) != 0) {
            ::close(client);
            client = -1;
            const std::lock_guard lock(mutex_);
            has_reader_ = false;
            continue;
        }
        // Send what the reader has not had, until its socket is full.
        for (int burst = 0; burst < 1024; ++burst) {
            std::string record;
            {
                const std::lock_guard lock(mutex_);
                if (reader_next_ < first_index_) reader_next_ = first_index_;  // overrun
                if (reader_next_ >= first_index_ + ring_.size()) break;
                record = ring_[static_cast<std::size_t>(reader_next_ - first_index_)];
            }
            const ssize_t n = ::send(client, record.data(), record.size(), MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
                ::close(client);  // klogd went away (killed, stopped)
                client = -1;
                const std::lock_guard lock(mutex_);
                has_reader_ = false;
                break;
            }
            const std::lock_guard lock(mutex_);
            ++reader_next_;
        }
    }
    if (client >= 0) ::close(client);
}

std::uint64_t peak_rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
    }
    return 0;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return condition();
}

std::vector<std::string> file_lines(const std::string& path) {
    std::vector<std::string> lines;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::string kmsg_record(int pri, std::uint64_t seq, std::uint64_t ts_usec,
                        const std::string& text) {
    return std::to_string(pri) + "," + std::to_string(seq) + "," + std::to_string(ts_usec) + ",-;" +
           text + "\n";
}

}  // namespace klog_test
