// Issue 19, with the real binary: `--color` colours line formats by level on a terminal (auto)
// or wherever `always` asks, never through a pipe or into a file under auto, never into
// syslog or network outputs, and kernel text stays escaped inside the colours.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "syslog_receiver.hpp"
#include "test_support.hpp"

using klog_test::run_klogd;

namespace {

const char* const names[] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};

/// `cat /dev/kmsg` form: one record per line.
std::string kmsg_line(int pri, int seq, const std::string& escaped_text) {
    return std::to_string(pri) + "," + std::to_string(seq) + "," + std::to_string(seq * 1000) +
           ",-;" + escaped_text + "\n";
}

/// One record per level (seq 1..8), a gap (9..11, klogd's own notice), then an err record
/// whose text holds an ESC sequence, the characters `\x1b` and a newline.
std::string records() {
    std::string r;
    for (int level = 0; level < 8; ++level) {
        r += kmsg_line(level, level + 1, std::string("level ") + names[level]);
    }
    r += kmsg_line(3, 12, "esc \\x1b[2J and \\x5cx1b\\x0anext line");
    return r;
}

const std::string dim = "\x1b[2m";
const std::string reset = "\x1b[0m";

/// What `--format=raw` writes for records() with colour.
std::string colored_raw() {
    const char* const color[] = {"\x1b[1;37;41m", "\x1b[1;37;41m", "\x1b[1;31m", "\x1b[31m",
                                 "\x1b[1;33m",    "\x1b[1m",       "",           ""};
    std::string out;
    for (int level = 0; level < 8; ++level) {
        out += dim + "<" + std::to_string(level) + ">[    0.00" + std::to_string(level + 1) +
               "000] " + reset + color[level] + "level " + names[level];
        if (*color[level] != '\0') out += reset;
        out += "\n";
    }
    out += dim + "<4,klogd>" + reset + "\x1b[1;35mklogd: missed 3 kernel messages (seq 9..11)" +
           reset + "\n";
    const std::string err_prefix = dim + "<3>[    0.012000] " + reset + "\x1b[31m";
    out += err_prefix + "esc \\x1b[2J and \\x5cx1b" + reset + "\n";
    out += err_prefix + "next line" + reset + "\n";
    return out;
}

std::string plain_raw() {
    std::string out;
    for (int level = 0; level < 8; ++level) {
        out += "<" + std::to_string(level) + ">[    0.00" + std::to_string(level + 1) + "000] " +
               "level " + names[level] + "\n";
    }
    out += "<4,klogd>klogd: missed 3 kernel messages (seq 9..11)\n";
    out += "<3>[    0.012000] esc \\x1b[2J and \\x5cx1b\n<3>[    0.012000] next line\n";
    return out;
}

bool has_esc(const std::string& s) { return s.find('\x1b') != std::string::npos; }

struct pty_result {
    int exit_code = -1;
    std::string out;  ///< what klogd wrote to the terminal
    std::string err;
};

/// Runs klogd with its standard output on a pseudo-terminal (raw mode: no "\r\n" for "\n"),
/// standard error in a file, and exactly the environment `env`.
pty_result run_on_pty(const std::vector<std::string>& args, const std::vector<std::string>& env) {
    klog_test::temp_dir dir;
    const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    REQUIRE(master >= 0);
    REQUIRE(::grantpt(master) == 0);
    REQUIRE(::unlockpt(master) == 0);
    const std::string slave_name = ::ptsname(master);
    const int slave = ::open(slave_name.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
    REQUIRE(slave >= 0);
    termios t{};
    REQUIRE(::tcgetattr(slave, &t) == 0);
    ::cfmakeraw(&t);
    REQUIRE(::tcsetattr(slave, TCSANOW, &t) == 0);
    REQUIRE(::isatty(slave) == 1);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, slave, STDOUT_FILENO);
    const std::string err_path = dir.file("stderr");
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<std::string> argv = {klog_test::klogd_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> argp;
    for (auto& a : argv) argp.push_back(a.data());
    argp.push_back(nullptr);
    std::vector<std::string> envs = env;
    std::vector<char*> envp;
    for (auto& e : envs) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = 0;
    const int rc = ::posix_spawn(&pid, argp[0], &actions, nullptr, argp.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(slave);
    REQUIRE(rc == 0);

    pty_result result;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    char buf[4096];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            ::kill(pid, SIGKILL);
            FAIL("klogd on a terminal did not finish in 30 s");
        }
        pollfd p{master, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) < 0) continue;
        const ssize_t n = ::read(master, buf, sizeof buf);
        if (n > 0) {
            result.out.append(buf, static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            break;  // EIO: every holder of the terminal's other side has closed it
        }
    }
    ::close(master);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.err = klog_test::read_if_any(err_path);
    return result;
}

/// A terminal's usual environment.
std::vector<std::string> terminal_env(std::vector<std::string> extra = {}) {
    std::vector<std::string> env = {"PATH=/usr/bin:/bin", "TERM=xterm-256color", "TZ=UTC"};
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

}  // namespace

TEST_CASE("color: --color=always: golden bytes for every level and klogd's own notice",
          "[integration][color]") {
    klog_test::temp_dir dir;
    const auto in = dir.file("kmsg.txt");
    klog_test::write_file(in, records());
    const auto out = dir.file("out.log");
    const auto r =
        run_klogd({"-o", "-x", "--source=" + in, "-f", out, "--format=raw", "--color=always"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(klog_test::read_file(out) == colored_raw());
    // Standard output (a pipe here) too, when asked.
    const auto piped =
        run_klogd({"-o", "-x", "--source=" + in, "-f", "-", "--format=raw", "--color=always"});
    CHECK(piped.out == colored_raw());
}

TEST_CASE("color: --color=always: traditional and rfc3164 lines keep their text escaped and reset",
          "[integration][color][hostile]") {
    klog_test::temp_dir dir;
    const auto in = dir.file("kmsg.txt");
    klog_test::write_file(in, records());
    for (const std::string format : {"traditional", "rfc3164"}) {
        const auto r = run_klogd(
            {"-o", "-x", "--source=" + in, "-f", "-", "--format=" + format, "--color=always"});
        INFO(format << "\n" << r.out);
        CHECK(r.exit_code == 0);
        std::size_t lines = 0;
        std::size_t start = 0;
        while (start < r.out.size()) {
            const auto nl = r.out.find('\n', start);
            REQUIRE(nl != std::string::npos);
            const std::string line = r.out.substr(start, nl - start);
            start = nl + 1;
            ++lines;
            // Dim prefix first; the line's last escape sequence is a reset.
            CHECK(line.starts_with(dim));
            CHECK(line.compare(line.rfind('\x1b'), reset.size(), reset) == 0);
            CHECK(line.find('\r') == std::string::npos);
        }
        CHECK(lines == 11);
        // The kernel's ESC arrives as the four characters, inside err's red.
        CHECK(r.out.find("\x1b[31mesc \\x1b[2J and \\x5cx1b\x1b[0m\n") != std::string::npos);
        CHECK(r.out.find("\x1b[1;35mmissed 3 kernel messages (seq 9..11)\x1b[0m\n") !=
              std::string::npos);
    }
}

TEST_CASE("color: --color=auto colours a terminal", "[integration][color]") {
    klog_test::temp_dir dir;
    const auto in = dir.file("kmsg.txt");
    klog_test::write_file(in, records());
    const std::vector<std::string> args = {"-o", "-x", "--source=" + in, "-f", "-", "--format=raw"};
    // auto is the default.
    auto r = run_on_pty(args, terminal_env());
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == colored_raw());
    auto with_auto = args;
    with_auto.push_back("--color=auto");
    r = run_on_pty(with_auto, terminal_env({"NO_COLOR="}));  // empty: not set (no-color.org)
    CHECK(r.out == colored_raw());
    // -n, as `make run` starts it, decides the same way (a replay ends by itself).
    auto daemon = args;
    daemon.erase(daemon.begin());  // no -o
    daemon.insert(daemon.begin(), {"-n", "--state-file=none", "--pidfile=" + dir.file("pid")});
    r = run_on_pty(daemon, terminal_env());
    CHECK(r.out == colored_raw());
}

TEST_CASE("color: --color=auto leaves a terminal plain for TERM=dumb NO_COLOR or never",
          "[integration][color]") {
    klog_test::temp_dir dir;
    const auto in = dir.file("kmsg.txt");
    klog_test::write_file(in, records());
    const std::vector<std::string> args = {"-o", "-x", "--source=" + in, "-f", "-", "--format=raw"};
    CHECK(run_on_pty(args, {"PATH=/usr/bin:/bin", "TERM=dumb"}).out == plain_raw());
    CHECK(run_on_pty(args, {"PATH=/usr/bin:/bin"}).out == plain_raw());  // no TERM at all
    CHECK(run_on_pty(args, terminal_env({"NO_COLOR=1"})).out == plain_raw());
    auto never = args;
    never.push_back("--color=never");
    CHECK(run_on_pty(never, terminal_env()).out == plain_raw());
    // always beats NO_COLOR and TERM=dumb: it was asked for by name.
    auto always = args;
    always.push_back("--color=always");
    CHECK(run_on_pty(always, {"TERM=dumb", "NO_COLOR=1"}).out == colored_raw());
}

TEST_CASE("color: --color=auto through a pipe or into a file writes no colour",
          "[integration][color]") {
    ::setenv("TERM", "xterm-256color", 1);  // what a terminal would have: only the pipe differs
    ::unsetenv("NO_COLOR");
    klog_test::temp_dir dir;
    const auto in = dir.file("kmsg.txt");
    klog_test::write_file(in, records());
    const auto piped = run_klogd({"-o", "-x", "--source=" + in, "-f", "-", "--format=raw"});
    CHECK(piped.exit_code == 0);
    CHECK(piped.out == plain_raw());
    const auto out = dir.file("out.log");
    const auto r = run_klogd(
        {"-o", "-x", "--source=" + in, "--output=file:" + out, "--format=raw", "--color=auto"});
    CHECK(r.exit_code == 0);
    CHECK(klog_test::read_file(out) == plain_raw());
    // json and rfc5424 are never coloured, not even when asked.
    for (const std::string format : {"json", "rfc5424"}) {
        const auto j = run_klogd(
            {"-o", "-x", "--source=" + in, "-f", "-", "--format=" + format, "--color=always"});
        INFO(format);
        CHECK(j.exit_code == 0);
        CHECK_FALSE(j.out.empty());
        CHECK_FALSE(has_esc(j.out));
    }
}

TEST_CASE("color: --color=always never reaches local syslog or network outputs",
          "[integration][color]") {
    klog_test::temp_dir dir;
    const auto in = dir.file("kmsg.txt");
    klog_test::write_file(in, records());
    // A local syslog socket and a UDP collector, both read by the test.
    const auto sock_path = dir.file("log.sock");
    const int log_sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(log_sock >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(sock_path.size() < sizeof addr.sun_path);
    sock_path.copy(addr.sun_path, sock_path.size());
    REQUIRE(::bind(log_sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    std::uint16_t port = 0;
    const int udp = klog_test::bound_loopback_socket(SOCK_DGRAM, port);
    const auto out = dir.file("out.log");
    const auto r =
        run_klogd({"-o", "-x", "--source=" + in, "--color=always", "--format=raw",
                   "--output=syslog:" + sock_path,
                   "--output=udp://127.0.0.1:" + std::to_string(port), "--output=file:" + out});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(klog_test::read_file(out) == colored_raw());  // the file asked for it
    for (const int fd : {log_sock, udp}) {
        int datagrams = 0;
        char buf[65536];
        for (;;) {
            const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n < 0) break;
            ++datagrams;
            // Syslog and RFC 5424 carry the kernel's text as it is, its own ESC included;
            // nothing else may be there.
            std::string datagram(buf, static_cast<std::size_t>(n));
            for (auto at = datagram.find("\x1b[2J"); at != std::string::npos;
                 at = datagram.find("\x1b[2J")) {
                datagram.erase(at, 4);
            }
            INFO(datagram);
            CHECK_FALSE(has_esc(datagram));
        }
        CHECK(datagrams == 10);  // 9 records and the notice
    }
    ::close(log_sock);
    ::close(udp);
}

TEST_CASE("color: --color refuses a value it does not know", "[integration][color]") {
    const auto r = run_klogd({"--check-config", "--color=yes", "-f", "-"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--color yes: must be auto, always or never") != std::string::npos);
}
