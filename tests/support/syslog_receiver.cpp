#include "syslog_receiver.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "daemon_harness.hpp"
#include "test_support.hpp"

extern char** environ;

namespace klog_test {

namespace {

using namespace std::chrono_literals;

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

void run_ok(const std::vector<std::string>& argv, int timeout_ms = 60000) {
    const auto r = run_process(argv, {}, timeout_ms);
    INFO(argv.back() << "\n" << r.out << r.err);
    REQUIRE(r.exit_code == 0);
}

}  // namespace

int bound_loopback_socket(int type, std::uint16_t& port) {
    const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port = ntohs(addr.sin_port);
    return fd;
}

std::uint16_t free_port(bool udp) {
    std::uint16_t port = 0;
    ::close(bound_loopback_socket(udp ? SOCK_DGRAM : SOCK_STREAM, port));
    return port;
}

bool tcp_port_open(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

child_process::child_process(const std::vector<std::string>& argv, const std::string& log_path,
                             const std::vector<std::string>& env) {
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    REQUIRE(log >= 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, log, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, log, STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
    env_strings.insert(env_strings.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(log);
    if (rc != 0) {
        FAIL("cannot run " << argv[0] << ": " << std::strerror(rc)
                           << " (make test installs or unpacks the programs the tests run)");
    }
}

child_process::~child_process() {
    if (pid_ > 0 && status_ < 0) {
        ::kill(pid_, SIGKILL);
        int st = 0;
        ::waitpid(pid_, &st, 0);
    }
}

bool child_process::running() {
    if (status_ >= 0) return false;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return false;
    }
    return true;
}

int child_process::stop(int signo, std::chrono::milliseconds timeout) {
    if (running()) ::kill(pid_, signo);
    eventually([&] { return !running(); }, timeout);
    return status_;
}

test_pki make_test_pki(const std::string& dir) {
    test_pki pki{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key"};
    const std::string ca_key = dir + "/ca.key";
    const std::string csr = dir + "/server.csr";
    const std::string ext = dir + "/san.cnf";
    write_file(ext, "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n");
    run_ok({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", ca_key, "-out", pki.ca, "-days",
            "2", "-subj", "/CN=klogd test CA"});
    run_ok({"/usr/bin/openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", pki.key, "-out", csr, "-subj", "/CN=localhost"});
    run_ok({"/usr/bin/openssl", "x509", "-req", "-in", csr, "-CA", pki.ca, "-CAkey", ca_key,
            "-CAcreateserial", "-out", pki.cert, "-days", "2", "-extfile", ext});
    return pki;
}

std::vector<received_message> parse_received(const std::string& path) {
    std::vector<received_message> out;
    std::string_view all;
    const std::string bytes = read_if_any(path);
    all = bytes;
    static constexpr std::string_view end = "<<END>>\n";
    while (!all.empty()) {
        const auto stop = all.find(end);
        if (stop == std::string_view::npos) break;
        std::string_view m = all.substr(0, stop);
        all.remove_prefix(stop + end.size());
        received_message r;
        std::string* fields[] = {&r.input, &r.facility, &r.tag, &r.program};
        for (auto* f : fields) {
            const auto bar = m.find('|');
            if (bar == std::string_view::npos) break;
            f->assign(m.substr(0, bar));
            m.remove_prefix(bar + 1);
        }
        r.msg.assign(m);
        out.push_back(std::move(r));
    }
    return out;
}

rsyslog_receiver::rsyslog_receiver(const std::string& dir, const test_pki& pki)
    : socket_(dir + "/log.sock"), output_(dir + "/rsyslog.out"), log_(dir + "/rsyslogd.log") {
    REQUIRE(exists("/usr/sbin/rsyslogd"));
    REQUIRE(exists("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so"));  // rsyslog-openssl
    const std::string work = dir + "/rsyslog-work";
    REQUIRE(::mkdir(work.c_str(), 0700) == 0);
    udp_port_ = free_port(true);
    tcp_port_ = free_port();
    do {
        tls_port_ = free_port();
    } while (tls_port_ == tcp_port_);
    const std::string conf = dir + "/rsyslog.conf";
    write_file(
        conf, "global(workDirectory=\"" + work +
                  "\" net.enableDNS=\"off\"\n"
                  "  parser.escapeControlCharactersOnReceive=\"off\" maxMessageSize=\"64k\"\n"
                  "  defaultNetstreamDriverCAFile=\"" +
                  pki.ca +
                  "\"\n"
                  "  defaultNetstreamDriverCertFile=\"" +
                  pki.cert +
                  "\"\n"
                  "  defaultNetstreamDriverKeyFile=\"" +
                  pki.key +
                  "\")\n"
                  "module(load=\"imuxsock\" SysSock.Use=\"off\")\n"
                  "module(load=\"imudp\")\n"
                  "module(load=\"imtcp\")\n"
                  "template(name=\"t\" type=\"string\" string=\"%inputname%|%syslogfacility-text%|"
                  "%syslogtag%|%programname%|%msg%<<END>>\\n\")\n"
                  "ruleset(name=\"r\") { action(type=\"omfile\" file=\"" +
                  output_ +
                  "\" template=\"t\") }\n"
                  "input(type=\"imuxsock\" Socket=\"" +
                  socket_ +
                  "\" ruleset=\"r\")\n"
                  "input(type=\"imudp\" address=\"127.0.0.1\" port=\"" +
                  std::to_string(udp_port_) +
                  "\" ruleset=\"r\")\n"
                  "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"" +
                  std::to_string(tcp_port_) +
                  "\" ruleset=\"r\")\n"
                  "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"" +
                  std::to_string(tls_port_) +
                  "\" ruleset=\"r\" name=\"tls\" streamDriver.name=\"ossl\" streamDriver.mode=\"1\""
                  " streamDriver.authMode=\"anon\")\n");
    process_ =
        std::make_unique<child_process>(std::vector<std::string>{"/usr/sbin/rsyslogd", "-n", "-f",
                                                                 conf, "-i", dir + "/rsyslogd.pid"},
                                        log_);
    INFO(log());
    REQUIRE(eventually(
        [&] { return exists(socket_) && tcp_port_open(tcp_port_) && tcp_port_open(tls_port_); }));
}

std::string rsyslog_receiver::log() const { return read_if_any(log_); }

rsyslog_relp_receiver::rsyslog_relp_receiver(const std::string& dir, const test_pki* tls)
    : dir_(dir + "/relp"), output_(dir_ + "/rsyslog.out"), log_(dir_ + "/rsyslogd.log") {
    INFO("rsyslog-relp: the Debian package that gives rsyslogd imrelp (make deps installs it)");
    REQUIRE(exists("/usr/lib/x86_64-linux-gnu/rsyslog/imrelp.so"));
    REQUIRE(::mkdir(dir_.c_str(), 0700) == 0);
    const std::string work = dir_ + "/work";
    REQUIRE(::mkdir(work.c_str(), 0700) == 0);
    port_ = free_port();
    conf_ = dir_ + "/rsyslog.conf";
    std::string input = "input(type=\"imrelp\" address=\"127.0.0.1\" port=\"" +
                        std::to_string(port_) + "\" ruleset=\"r\"";
    if (tls != nullptr) {
        // Mutual TLS, as imrelp wants it: the client shows a certificate the CA signed.
        input += " tls=\"on\" tls.authMode=\"certvalid\" tls.caCert=\"" + tls->ca +
                 "\" tls.myCert=\"" + tls->cert + "\" tls.myPrivKey=\"" + tls->key + "\"";
    }
    input += ")\n";
    // A direct queue: the record is written by the thread that answers for it.
    write_file(conf_, "global(workDirectory=\"" + work +
                          "\" net.enableDNS=\"off\"\n"
                          "  parser.escapeControlCharactersOnReceive=\"off\" "
                          "maxMessageSize=\"64k\")\n"
                          "module(load=\"imrelp\")\n"
                          "template(name=\"t\" type=\"string\" string=\"%inputname%|"
                          "%syslogfacility-text%|%syslogtag%|%programname%|%msg%<<END>>\\n\")\n"
                          "ruleset(name=\"r\" queue.type=\"direct\") { action(type=\"omfile\" "
                          "file=\"" +
                          output_ + "\" template=\"t\" asyncWriting=\"off\" flushOnTXEnd=\"on\") }\n" +
                          input);
    start();
}

rsyslog_relp_receiver::~rsyslog_relp_receiver() = default;

void rsyslog_relp_receiver::start() {
    process_ = std::make_unique<child_process>(
        std::vector<std::string>{"/usr/sbin/rsyslogd", "-n", "-f", conf_, "-i",
                                 dir_ + "/rsyslogd.pid"},
        log_);
    INFO(log());
    REQUIRE(eventually([&] { return tcp_port_open(port_); }));
}

void rsyslog_relp_receiver::kill() {
    if (process_) process_->stop(SIGKILL);
    process_.reset();
    ::unlink((dir_ + "/rsyslogd.pid").c_str());
}

std::string rsyslog_relp_receiver::log() const { return read_if_any(log_); }

namespace {

/// syslog-ng as tests/support/unpack-syslog-ng.sh left it in KLOGD_TEST_SYSLOG_NG_DIR (make
/// test runs it first): {binary, module path, LD_LIBRARY_PATH} from its `env` file.
std::vector<std::string> find_syslog_ng() {
    const std::string dir = KLOGD_TEST_SYSLOG_NG_DIR;
    const std::string env = read_if_any(dir + "/env");
    if (env.empty()) {
        FAIL("syslog-ng is not unpacked in "
             << dir
             << " (Debian package syslog-ng-core and the libraries it needs; it conflicts with "
                "rsyslog, so it is unpacked, not installed): run `make test`, or "
             << KLOG_SOURCE_DIR << "/tests/support/unpack-syslog-ng.sh " << dir);
    }
    std::map<std::string, std::string> vars;
    std::istringstream lines(env);
    for (std::string line; std::getline(lines, line);) {
        const auto eq = line.find('=');
        if (eq != std::string::npos) vars[line.substr(0, eq)] = line.substr(eq + 1);
    }
    INFO(dir << "/env:\n" << env);
    for (const char* key : {"SYSLOG_NG", "SYSLOG_NG_MODULE_PATH", "LD_LIBRARY_PATH"}) {
        REQUIRE(vars.count(key) == 1);
    }
    REQUIRE(exists(vars["SYSLOG_NG"]));
    return {vars["SYSLOG_NG"], vars["SYSLOG_NG_MODULE_PATH"], vars["LD_LIBRARY_PATH"]};
}

}  // namespace

syslog_ng_receiver::syslog_ng_receiver(const std::string& dir)
    : output_(dir + "/syslog-ng.out"), log_(dir + "/syslog-ng.log") {
    const auto found = find_syslog_ng();
    tcp_port_ = free_port();
    const std::string conf = dir + "/syslog-ng.conf";
    write_file(conf,
               "@version: 3.38\n"
               "options { keep-hostname(yes); };\n"
               "source s { syslog(ip(127.0.0.1) port(" +
                   std::to_string(tcp_port_) +
                   ") transport(\"tcp\")); };\n"
                   "destination d { file(\"" +
                   output_ +
                   "\" template(\"syslog-ng|${FACILITY}|${PROGRAM}|${PROGRAM}|${MSG}<<END>>\\n\") "
                   "template-escape(no)); };\n"
                   "log { source(s); destination(d); };\n");
    std::vector<std::string> argv{found[0],   "-F",
                                  "-f",       conf,
                                  "-p",       dir + "/syslog-ng.pid",
                                  "-c",       dir + "/syslog-ng.ctl",
                                  "-R",       dir + "/syslog-ng.persist",
                                  "--no-caps"};
    argv.push_back("--module-path=" + found[1]);
    process_ = std::make_unique<child_process>(
        argv, log_, std::vector<std::string>{"LD_LIBRARY_PATH=" + found[2]});
    INFO(log());
    REQUIRE(eventually([&] { return tcp_port_open(tcp_port_); }));
}

std::string syslog_ng_receiver::log() const { return read_if_any(log_); }

tcp_capture::tcp_capture(std::string dir, std::uint16_t port) : dir_(std::move(dir)), port_(port) {}

tcp_capture::~tcp_capture() {
    if (pid_ > 0) kill();
}

void tcp_capture::start(std::chrono::microseconds read_delay, std::size_t read_size, int rcvbuf) {
    REQUIRE(pid_ < 0);
    ++starts_;
    const std::string prefix = dir_ + "/conn-" + std::to_string(starts_) + "-";
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
        // Child: only system calls from here on; it dies with the test.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (int fd = 0; fd < 3; ++fd) ::close(fd);
        const int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
        const int one = 1;
        ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (rcvbuf > 0) ::setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(port_);
        if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(lfd, 8) != 0) {
            ::_exit(3);
        }
        static char buf[65536];
        for (int n = 1;; ++n) {
            const int c = ::accept(lfd, nullptr, nullptr);
            if (c < 0) continue;
            char name[512];
            std::snprintf(name, sizeof name, "%s%06d", prefix.c_str(), n);
            const int out = ::open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            for (;;) {
                const ssize_t r = ::read(c, buf, std::min(read_size, sizeof buf));
                if (r <= 0) break;
                if (::write(out, buf, static_cast<std::size_t>(r)) != r) ::_exit(4);
                if (read_delay.count() > 0) ::usleep(static_cast<useconds_t>(read_delay.count()));
            }
            ::close(out);
            ::close(c);
        }
    }
    REQUIRE(eventually([&] { return tcp_port_open(port_); }));
}

void tcp_capture::kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
}

std::vector<std::string> tcp_capture::frames() const { return octet_frames_in(dir_); }

std::vector<std::string> octet_frames_in(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const auto n = e.path().filename().string();
        if (n.starts_with("conn-")) names.push_back(e.path().string());
    }
    // conn-<start>-<n>: by start, then by n (zero padded).
    std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
        const auto sa = std::stoi(a.substr(a.rfind("conn-") + 5));
        const auto sb = std::stoi(b.substr(b.rfind("conn-") + 5));
        return sa != sb ? sa < sb : a < b;
    });
    std::vector<std::string> frames;
    for (const auto& name : names) {
        const std::string bytes = read_file(name);
        std::size_t at = 0;
        while (at < bytes.size()) {
            const auto sp = bytes.find(' ', at);
            if (sp == std::string::npos) break;
            const auto len = std::stoul(bytes.substr(at, sp - at));
            if (sp + 1 + len > bytes.size()) break;  // cut off with the connection
            frames.push_back(bytes.substr(sp + 1, len));
            at = sp + 1 + len;
        }
    }
    return frames;
}

tls_capture::tls_capture(std::string dir, std::uint16_t port, test_pki pki,
                         std::chrono::milliseconds read_delay)
    : dir_(std::move(dir)), port_(port), pki_(std::move(pki)), read_delay_(read_delay) {}

tls_capture::~tls_capture() {
    if (pid_ > 0) kill();
}

void tls_capture::start() {
    REQUIRE(pid_ < 0);
    ++starts_;
    const std::string prefix = dir_ + "/conn-" + std::to_string(starts_) + "-";
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
        if (ctx == nullptr || SSL_CTX_use_certificate_chain_file(ctx, pki_.cert.c_str()) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, pki_.key.c_str(), SSL_FILETYPE_PEM) != 1) {
            ::_exit(5);
        }
        const int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
        const int one = 1;
        ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(port_);
        if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(lfd, 8) != 0) {
            ::_exit(3);
        }
        static char buf[65536];
        for (int n = 1;; ++n) {
            const int c = ::accept(lfd, nullptr, nullptr);
            if (c < 0) continue;
            SSL* ssl = SSL_new(ctx);
            SSL_set_fd(ssl, c);
            if (SSL_accept(ssl) == 1) {
                ::usleep(static_cast<useconds_t>(read_delay_.count() * 1000));
                char name[512];
                std::snprintf(name, sizeof name, "%s%06d", prefix.c_str(), n);
                const int out = ::open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                for (;;) {
                    const int r = SSL_read(ssl, buf, sizeof buf);
                    if (r <= 0) break;
                    if (::write(out, buf, static_cast<std::size_t>(r)) != r) ::_exit(4);
                }
                ::close(out);
                SSL_shutdown(ssl);
            }
            SSL_free(ssl);
            ::close(c);
        }
    }
    REQUIRE(eventually([&] { return tcp_port_open(port_); }));
}

void tls_capture::kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
}

std::vector<std::string> tls_capture::frames() const { return octet_frames_in(dir_); }

}  // namespace klog_test
