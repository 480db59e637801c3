// Guest-side helper of the qemu bench scenarios (tests/vm/scenarios/bench_*.guest.sh); linked
// statically so it runs in the busybox initramfs. Writes go to the GUEST's /dev/kmsg: never run
// the write commands on a host.
//
//   kmsg_tool latency FILE TAG N [INTERVAL_MS]
//       N times: write "<14>TAG#i@ latency probe\n" to /dev/kmsg and wait (inotify) until that text
//       is appended to FILE. Prints "n= got= p50_us= p90_us= p99_us= max_us=".
//   kmsg_tool flood TAG N [PAD]
//       writes N records "<14>TAG#i@ PAD×'x'\n" to /dev/kmsg as fast as it can.
//       Prints "written= failed= seconds= rate=".
//   kmsg_tool wait FILE TEXT SECS
//       exits 0 once FILE contains TEXT, 1 after SECS.
//   kmsg_tool count FILE TAG N
//       counts which of TAG#0@ .. TAG#(N-1)@ FILE holds. Prints "delivered= lost= duplicates=".
//   kmsg_tool cpu PID...
//       utime+stime of the processes in milliseconds (from /proc/PID/stat), summed.
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

// KMSG_TOOL_DEVICE replaces /dev/kmsg (to try the tool on a host against a plain file).
int open_kmsg_for_writing() {
    const char* device = std::getenv("KMSG_TOOL_DEVICE");
    const int fd = ::open(device ? device : "/dev/kmsg", O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        std::perror("kmsg_tool: /dev/kmsg");
        std::exit(1);
    }
    return fd;
}

std::string marker(const std::string& tag, std::uint64_t i) {
    return tag + "#" + std::to_string(i) + "@";
}

// Follows a growing file: appended bytes, woken by inotify.
class follower {
  public:
    explicit follower(const std::string& path) : path_(path) {
        inotify_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        ::inotify_add_watch(inotify_, path.c_str(), IN_MODIFY);
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) {
            std::perror(("kmsg_tool: " + path).c_str());
            std::exit(1);
        }
        ::lseek(fd_, 0, SEEK_END);
    }
    ~follower() {
        ::close(fd_);
        ::close(inotify_);
    }
    follower(const follower&) = delete;
    follower& operator=(const follower&) = delete;

    // Waits until `text` was appended since the last match; false after `timeout`.
    bool wait_for(const std::string& text, std::chrono::milliseconds timeout) {
        const auto deadline = clock_type::now() + timeout;
        for (;;) {
            read_new();
            const std::size_t at = pending_.find(text);
            if (at != std::string::npos) {
                pending_.erase(0, at + text.size());
                return true;
            }
            // Keep only a tail that might hold the start of `text`.
            if (pending_.size() > text.size()) pending_.erase(0, pending_.size() - text.size());
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
            if (left.count() <= 0) {
                std::fprintf(stderr, "kmsg_tool: '%s' not in %s within %lld ms (read up to %lld)\n",
                             text.c_str(), path_.c_str(), static_cast<long long>(timeout.count()),
                             static_cast<long long>(::lseek(fd_, 0, SEEK_CUR)));
                return false;
            }
            pollfd p{inotify_, POLLIN, 0};
            ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 100)));
            char events[4096];
            while (::read(inotify_, events, sizeof events) > 0) {
            }
        }
    }

  private:
    void read_new() {
        char buf[65536];
        for (;;) {
            const ssize_t got = ::read(fd_, buf, sizeof buf);
            if (got <= 0) break;
            pending_.append(buf, static_cast<std::size_t>(got));
        }
    }

    std::string path_;
    int fd_ = -1;
    int inotify_ = -1;
    std::string pending_;
};

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

int latency(const std::string& file, const std::string& tag, std::uint64_t n, int interval_ms) {
    const int kmsg = open_kmsg_for_writing();
    follower f(file);
    std::vector<double> us;
    for (std::uint64_t i = 0; i < n; ++i) {
        const std::string m = marker(tag, i);
        // The newline matters: without it the kernel keeps the record open for a continuation
        // and readers see it only when the next record comes.
        const std::string line = "<14>" + m + " latency probe\n";
        const auto start = clock_type::now();
        if (::write(kmsg, line.data(), line.size()) < 0) std::perror("kmsg_tool: write");
        if (f.wait_for(m, std::chrono::milliseconds(5000))) {
            us.push_back(
                std::chrono::duration<double, std::micro>(clock_type::now() - start).count());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
    }
    std::printf("n=%llu got=%zu p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f\n",
                static_cast<unsigned long long>(n), us.size(), percentile(us, 0.5),
                percentile(us, 0.9), percentile(us, 0.99), percentile(us, 1.0));
    return 0;
}

int flood(const std::string& tag, std::uint64_t n, std::size_t pad) {
    const int kmsg = open_kmsg_for_writing();
    const std::string padding(pad, 'x');
    std::uint64_t failed = 0;
    const auto start = clock_type::now();
    for (std::uint64_t i = 0; i < n; ++i) {
        const std::string line = "<14>" + marker(tag, i) + " " + padding + "\n";
        if (::write(kmsg, line.data(), line.size()) < 0) ++failed;
    }
    const double s = std::chrono::duration<double>(clock_type::now() - start).count();
    std::printf("written=%llu failed=%llu seconds=%.3f rate=%.0f\n",
                static_cast<unsigned long long>(n - failed),
                static_cast<unsigned long long>(failed), s, static_cast<double>(n) / s);
    return 0;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int wait_text(const std::string& file, const std::string& text, int secs) {
    const auto deadline = clock_type::now() + std::chrono::seconds(secs);
    while (clock_type::now() < deadline) {
        if (slurp(file).find(text) != std::string::npos) return 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return 1;
}

int count(const std::string& file, const std::string& tag, std::uint64_t n) {
    const std::string bytes = slurp(file);
    std::vector<std::uint32_t> seen(n, 0);
    const std::string prefix = tag + "#";
    for (std::size_t at = bytes.find(prefix); at != std::string::npos;
         at = bytes.find(prefix, at + 1)) {
        std::size_t p = at + prefix.size();
        std::uint64_t i = 0;
        bool digits = false;
        while (p < bytes.size() && bytes[p] >= '0' && bytes[p] <= '9') {
            i = i * 10 + static_cast<std::uint64_t>(bytes[p] - '0');
            ++p;
            digits = true;
        }
        if (digits && p < bytes.size() && bytes[p] == '@' && i < n) ++seen[i];
    }
    std::uint64_t delivered = 0, duplicates = 0;
    for (const auto s : seen) {
        delivered += s ? 1 : 0;
        duplicates += s > 1 ? s - 1 : 0;
    }
    std::printf("delivered=%llu lost=%llu duplicates=%llu\n",
                static_cast<unsigned long long>(delivered),
                static_cast<unsigned long long>(n - delivered),
                static_cast<unsigned long long>(duplicates));
    return 0;
}

int cpu(int argc, char** argv) {
    const long tick = ::sysconf(_SC_CLK_TCK);
    unsigned long long total = 0;
    for (int i = 0; i < argc; ++i) {
        const std::string stat = slurp(std::string("/proc/") + argv[i] + "/stat");
        const std::size_t paren = stat.rfind(')');
        if (paren == std::string::npos) continue;
        // Fields after "(comm)": state(3) ... utime(14) stime(15).
        unsigned long long utime = 0, stime = 0;
        if (std::sscanf(stat.c_str() + paren + 1,
                        " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                        &stime) == 2) {
            total += utime + stime;
        }
    }
    std::printf("%llu\n", total * 1000ULL / static_cast<unsigned long long>(tick));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "latency" && argc >= 5) {
        return latency(argv[2], argv[3], std::strtoull(argv[4], nullptr, 10),
                       argc > 5 ? std::atoi(argv[5]) : 10);
    }
    if (cmd == "flood" && argc >= 4) {
        return flood(argv[2], std::strtoull(argv[3], nullptr, 10),
                     argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 64);
    }
    if (cmd == "wait" && argc == 5) return wait_text(argv[2], argv[3], std::atoi(argv[4]));
    if (cmd == "count" && argc == 5)
        return count(argv[2], argv[3], std::strtoull(argv[4], nullptr, 10));
    if (cmd == "cpu" && argc >= 3) return cpu(argc - 2, argv + 2);
    std::fprintf(stderr,
                 "usage: kmsg_tool latency FILE TAG N [INTERVAL_MS] | flood TAG N [PAD] | "
                 "wait FILE TEXT SECS | count FILE TAG N | cpu PID...\n");
    return 2;
}
