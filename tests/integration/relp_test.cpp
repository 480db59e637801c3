// relp:// and relps:// against a real rsyslogd with imrelp (rsyslog-relp): byte for byte, and
// every record stored while rsyslogd and klogd are SIGKILLed and restarted — the collector's
// own acknowledgement (`rsp 200`) is what moves the cursor.
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "daemon_harness.hpp"
#include "syslog_receiver.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using klog_test::background_klogd;
using klog_test::eventually;
using klog_test::kmsg_record;

namespace {

/// The records every receiver must store byte for byte: plain, a newline, non-ASCII.
struct sample {
    std::string kmsg_text;
    std::string text;
};
const std::vector<sample> samples = {
    {"hello over relp", "hello over relp"},
    {"line one\\x0aline two", "line one\nline two"},
    {"caf\\xc3\\xa9 \\xe2\\x9c\\x93 \\xff end", "caf\xc3\xa9 \xe2\x9c\x93 \xff end"},
    {"tab\there, a backslash \\x5c and [brackets] \"quotes\"",
     "tab\there, a backslash \\ and [brackets] \"quotes\""},
};

std::string replay_file(const klog_test::temp_dir& dir) {
    std::string bytes;
    for (std::size_t i = 0; i < samples.size(); ++i) {
        auto r = kmsg_record(6, i + 1, 1000000 * (i + 1), samples[i].kmsg_text);
        r.back() = '\0';
        bytes += r;
    }
    klog_test::write_file(dir.file("saved.kmsg"), bytes);
    return dir.file("saved.kmsg");
}

/// `relp n` → how many times each n was stored.
std::map<std::uint64_t, int> stored(const std::string& output, const std::string& marker) {
    std::map<std::uint64_t, int> n;
    for (const auto& m : klog_test::parse_received(output)) {
        const auto at = m.msg.rfind(marker);
        if (at == std::string::npos) continue;
        n[std::stoull(m.msg.substr(at + marker.size()))]++;
    }
    return n;
}

void check_samples(const klog_test::rsyslog_relp_receiver& rsyslog) {
    std::vector<klog_test::received_message> got;
    CHECK(eventually([&] {
        return (got = klog_test::parse_received(rsyslog.output())).size() >= samples.size();
    }));
    INFO(rsyslog.log());
    REQUIRE(got.size() == samples.size());
    for (std::size_t i = 0; i < samples.size(); ++i) {
        CHECK(got[i].input == "imrelp");
        CHECK(got[i].facility == "kern");
        CHECK(got[i].tag == "kernel");
        CHECK(got[i].msg == samples[i].text);
    }
}

/// A RELP server that misbehaves on purpose, one script per connection, in a thread: it
/// answers `open` with 200, then each `syslog` frame as its connection's script says; a
/// record counts as stored when it got a 200. Blocking sockets with poll timeouts: every wait
/// is bounded.
class fake_relp_server {
  public:
    /// What the server does with the n-th syslog frame of a connection.
    enum class act {
        ok,
        refuse,       // 500, and nothing more on this connection
        serverclose,  // goodbye
        broken,       // a frame that breaks RELP, and nothing more
        hold_refuse,  // 1.5 s of silence, then 500, then the next ones answered again
        silent,       // no answer to this one or any later one
        mute_open,    // (first) the open is never answered
    };
    using script = std::vector<act>;  // past its end: ok

    explicit fake_relp_server(std::vector<script> scripts) : scripts_(std::move(scripts)) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(listen_fd_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(listen_fd_, 4) == 0);
        socklen_t len = sizeof addr;
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    ~fake_relp_server() {
        stop_ = true;
        thread_.join();
        ::close(listen_fd_);
    }
    fake_relp_server(const fake_relp_server&) = delete;
    fake_relp_server& operator=(const fake_relp_server&) = delete;

    [[nodiscard]] std::uint16_t port() const { return port_; }
    /// The data of every syslog frame answered with 200, in the order answered.
    [[nodiscard]] std::vector<std::string> stored() {
        std::lock_guard lock(mutex_);
        return stored_;
    }
    [[nodiscard]] int connections() {
        std::lock_guard lock(mutex_);
        return connections_;
    }

  private:
    void run() {
        const auto until = std::chrono::steady_clock::now() + 120s;
        while (!stop_ && std::chrono::steady_clock::now() < until) {
            pollfd p{listen_fd_, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            const int c = ::accept(listen_fd_, nullptr, nullptr);
            if (c < 0) continue;
            std::size_t n = 0;
            {
                std::lock_guard lock(mutex_);
                n = static_cast<std::size_t>(connections_++);
            }
            serve(c, n < scripts_.size() ? scripts_[n] : script{});
            ::close(c);
        }
    }

    /// One frame from the client, or nullopt at its close (or after 20 s of silence).
    std::optional<std::pair<std::string, std::string>> next_frame(int c, std::string& in,
                                                                  std::string& txnr) {
        const auto until = std::chrono::steady_clock::now() + 20s;
        for (;;) {
            // TXNR SP COMMAND SP DATALEN [SP DATA] LF
            const auto sp1 = in.find(' ');
            const auto sp2 = sp1 == std::string::npos ? sp1 : in.find(' ', sp1 + 1);
            if (sp2 != std::string::npos) {
                const auto end_len = in.find_first_of(" \n", sp2 + 1);
                if (end_len != std::string::npos) {
                    const auto len = std::stoul(in.substr(sp2 + 1, end_len - sp2 - 1));
                    const auto data_at = in[end_len] == ' ' ? end_len + 1 : end_len;
                    if (in.size() >= data_at + len + 1) {
                        txnr = in.substr(0, sp1);
                        auto frame = std::make_pair(in.substr(sp1 + 1, sp2 - sp1 - 1),
                                                    in.substr(data_at, len));
                        in.erase(0, data_at + len + 1);
                        return frame;
                    }
                }
            }
            if (stop_ || std::chrono::steady_clock::now() > until) return std::nullopt;
            pollfd p{c, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            char buf[65536];
            const auto r = ::read(c, buf, sizeof buf);
            if (r <= 0) return std::nullopt;
            in.append(buf, static_cast<std::size_t>(r));
        }
    }

    static void say(int c, const std::string& bytes) {
        (void)!::send(c, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    }
    static std::string rsp(const std::string& txnr, const std::string& data) {
        return txnr + " rsp " + std::to_string(data.size()) + " " + data + "\n";
    }

    void serve(int c, const script& steps) {
        std::string in;
        std::string txnr;
        std::size_t n = 0;
        bool spoiled = false;  // after a refusal: nothing more is answered
        while (auto f = next_frame(c, in, txnr)) {
            const auto& [command, data] = *f;
            if (!steps.empty() && steps[0] == act::mute_open) continue;
            if (command == "open") {
                say(c, rsp(txnr, "200 OK\nrelp_version=0\nrelp_software=fake\ncommands=syslog"));
            } else if (command == "close") {
                say(c, rsp(txnr, "200 OK"));
                return;
            } else if (command == "syslog" && !spoiled) {
                switch (n < steps.size() ? steps[n] : act::ok) {
                    case act::ok: {
                        std::lock_guard lock(mutex_);
                        stored_.push_back(data);
                        say(c, rsp(txnr, "200 OK"));
                        break;
                    }
                    case act::refuse:
                        say(c, rsp(txnr, "500 queue full, \x1b[31mtry later"));
                        spoiled = true;
                        break;
                    case act::serverclose:
                        say(c, "0 serverclose 0\n");
                        return;
                    case act::broken:
                        say(c, txnr + " rsp six 200 OK\n");
                        spoiled = true;
                        break;
                    case act::hold_refuse:
                        std::this_thread::sleep_for(1500ms);
                        say(c, rsp(txnr, "500 not now"));
                        std::this_thread::sleep_for(100ms);  // the next answers in another read
                        break;
                    case act::silent:
                    case act::mute_open:
                        spoiled = true;
                        break;
                }
                ++n;
            }
        }
    }

    std::vector<script> scripts_;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::vector<std::string> stored_;
    int connections_ = 0;
    std::thread thread_;
};

}  // namespace

TEST_CASE("rsyslogd's imrelp receives kernel records over relp:// byte for byte, facility kern, "
          "tag kernel",
          "[integration][relp]") {
    klog_test::temp_dir dir;
    klog_test::rsyslog_relp_receiver rsyslog(dir.path(), nullptr);
    const auto r = klog_test::run_klogd(
        {"-o", "-x", "--source=" + replay_file(dir),
         "--output=relp://127.0.0.1:" + std::to_string(rsyslog.port())});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    check_samples(rsyslog);
    // klogd closed the session cleanly (rsyslogd says nothing of a broken pipe).
    CHECK(rsyslog.log().find("Broken pipe") == std::string::npos);
}

TEST_CASE("relps:// to rsyslogd's imrelp with TLS and a throwaway CA", "[integration][relp]") {
    klog_test::temp_dir dir;
    const auto pki = klog_test::make_test_pki(dir.path());
    klog_test::rsyslog_relp_receiver rsyslog(dir.path(), &pki);
    const auto r = klog_test::run_klogd(
        {"-o", "-x", "--source=" + replay_file(dir),
         "--output=relps://127.0.0.1:" + std::to_string(rsyslog.port()), "--tls-ca=" + pki.ca,
         // imrelp asks for a client certificate: the test CA signed this one too.
         "--tls-cert=" + pki.cert, "--tls-key=" + pki.key});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    check_samples(rsyslog);
}

TEST_CASE("relp://: 100,000 records while rsyslogd is SIGKILLed and restarted three times and "
          "klogd twice: all stored, in order",
          "[integration][relp]") {
    klog_test::temp_dir dir;
    klog_test::kmsg_ring ring(dir.file("kmsg.sock"), 200000);
    klog_test::rsyslog_relp_receiver rsyslog(dir.path(), nullptr);
    const auto err = dir.file("stderr.log");
    const std::vector<std::string> args{"-n",
                                        "-d",
                                        "-x",
                                        "--source=kmsg:" + ring.path(),
                                        "--pidfile=" + dir.file("klogd.pid"),
                                        "--state-file=" + dir.file("state"),
                                        "--output=relp://127.0.0.1:" +
                                            std::to_string(rsyslog.port())};
    constexpr std::uint64_t total = 100000;
    const std::string marker = "relp record ";
    auto klogd = std::make_unique<background_klogd>(args, err);
    std::uint64_t added = 0;
    const auto add = [&](std::uint64_t upto) {
        for (; added < upto; ++added) {
            ring.add(kmsg_record(6, added + 1, 1000000 + added, marker + std::to_string(added + 1)));
        }
    };
    const auto stored_count = [&] { return stored(rsyslog.output(), marker).size(); };
    // rsyslogd killed three times, klogd twice, while the records come.
    for (int step = 1; step <= 5; ++step) {
        add(total * static_cast<std::uint64_t>(step) / 6);
        eventually([&] { return stored_count() >= added / 2; }, 20s);
        if (step % 2 == 1) {
            rsyslog.kill();
            std::this_thread::sleep_for(300ms);
            rsyslog.start();
        } else {
            klogd->signal(SIGKILL);
            klogd->wait_exit(5s);
            klogd = std::make_unique<background_klogd>(args, err);
        }
    }
    add(total);
    const bool all = eventually([&] { return stored_count() >= total; }, 90s);
    klogd->signal(SIGTERM);
    CHECK(klogd->wait_exit(10s) == 0);
    const auto diagnostics = klog_test::read_file(err);
    INFO(diagnostics.substr(diagnostics.size() > 4000 ? diagnostics.size() - 4000 : 0));
    INFO(rsyslog.log());
    CHECK(all);
    // In order: the first time each record is stored, it comes after all before it.
    std::uint64_t next = 1;
    std::uint64_t duplicates = 0;
    std::uint64_t out_of_order = 0;
    for (const auto& m : klog_test::parse_received(rsyslog.output())) {
        const auto at = m.msg.rfind(marker);
        if (at == std::string::npos) continue;
        const auto n = std::stoull(m.msg.substr(at + marker.size()));
        if (n == next) {
            ++next;
        } else if (n < next) {
            ++duplicates;
        } else {
            ++out_of_order;
        }
    }
    std::cout << "relp with kills: " << (next - 1) << " of " << total
              << " records stored in order, " << duplicates << " duplicates (by boot and seq)\n";
    CHECK(next - 1 == total);
    CHECK(out_of_order == 0);
}

TEST_CASE("relp://: a 500 answer and a serverclose and a broken answer are counted and said once "
          "with the collector's words and the records go again: none lost and none twice",
          "[integration][relp]") {
    using act = fake_relp_server::act;
    fake_relp_server server({
        {act::ok, act::ok, act::refuse},      // record 3 refused
        {act::ok, act::refuse},               // record 4 refused, the same words
        {act::ok, act::serverclose},          // the server goes away after record 5
        {act::ok, act::ok, act::broken},      // a frame that breaks RELP after record 7
    });
    klog_test::temp_dir dir;
    constexpr int total = 12;
    const std::string marker = "fake relp ";
    std::string bytes;
    for (int i = 1; i <= total; ++i) {
        auto r = kmsg_record(6, static_cast<std::uint64_t>(i), 1000000ULL * i,
                             marker + std::to_string(i));
        r.back() = '\0';
        bytes += r;
    }
    klog_test::write_file(dir.file("saved.kmsg"), bytes);
    const auto r = klog_test::run_klogd({"-o", "-d", "-x", "--source=" + dir.file("saved.kmsg"),
                                         "--output=relp://127.0.0.1:" +
                                             std::to_string(server.port())});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    std::vector<int> got;
    for (const auto& data : server.stored()) {
        const auto at = data.rfind(marker);
        if (at != std::string::npos) got.push_back(std::stoi(data.substr(at + marker.size())));
    }
    std::vector<int> want;
    for (int i = 1; i <= total; ++i) want.push_back(i);
    CHECK(got == want);  // every record once, in order
    CHECK(server.connections() >= 5);
    // Said once with the collector's words (its control bytes made harmless), counted.
    const auto count = [&](const std::string& what) {
        std::size_t n = 0;
        for (auto at = r.err.find(what); at != std::string::npos; at = r.err.find(what, at + 1)) ++n;
        return n;
    };
    CHECK(count("refused a record: 500 queue full, ?[31mtry later") == 1);
    CHECK(r.err.find('\x1b') == std::string::npos);
    CHECK(count("the collector closes the session") >= 1);
    CHECK(count("answer is broken") == 1);
    CHECK(r.err.find("2 refused, 1 broken answers") != std::string::npos);
}

namespace {

/// A daemon on a stand-in kernel with a state file, sending to `port` over relp://.
std::vector<std::string> relp_daemon_args(const klog_test::temp_dir& dir,
                                          const klog_test::kmsg_ring& ring, std::uint16_t port,
                                          std::vector<std::string> more = {}) {
    std::vector<std::string> args{"-n",
                                  "-d",
                                  "-x",
                                  "--source=kmsg:" + ring.path(),
                                  "--pidfile=" + dir.file("klogd.pid"),
                                  "--state-file=" + dir.file("state"),
                                  "--output=relp://127.0.0.1:" + std::to_string(port)};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

/// `marker N` → how many times the fake server stored each N.
std::map<int, int> stored_by_fake(fake_relp_server& server, const std::string& marker) {
    std::map<int, int> n;
    for (const auto& data : server.stored()) {
        const auto at = data.rfind(marker);
        if (at != std::string::npos) n[std::stoi(data.substr(at + marker.size()))]++;
    }
    return n;
}

}  // namespace

TEST_CASE("relp://: a refusal that comes while a SIGHUP closes the session is not acknowledged "
          "by the answers after it: the refused record goes again",
          "[integration][relp]") {
    using act = fake_relp_server::act;
    // Record 3 is refused after 1.5 s, records 4-10 answered 200 after it.
    fake_relp_server server({{act::ok, act::ok, act::hold_refuse}});
    klog_test::temp_dir dir;
    klog_test::kmsg_ring ring(dir.file("kmsg.sock"), 1000);
    const std::string marker = "held relp ";
    for (int i = 1; i <= 10; ++i) {
        ring.add(kmsg_record(6, static_cast<std::uint64_t>(i), 1000000ULL * i,
                             marker + std::to_string(i)));
    }
    const auto err = dir.file("stderr.log");
    background_klogd klogd(relp_daemon_args(dir, ring, server.port()), err);
    REQUIRE(eventually([&] { return stored_by_fake(server, marker).size() >= 2; }, 10s));
    klogd.signal(SIGHUP);  // while the collector holds its answer to record 3
    const bool all = eventually([&] { return stored_by_fake(server, marker).size() == 10; }, 20s);
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    INFO(klog_test::read_file(err));
    CHECK(all);
    CHECK(stored_by_fake(server, marker).count(3) == 1);
    CHECK(klog_test::read_file(err).find("refused a record: 500 not now") != std::string::npos);
}

TEST_CASE("relp://: a collector that does not answer the open or a record is given up on after "
          "--relp-timeout and connected to again",
          "[integration][relp]") {
    using act = fake_relp_server::act;
    fake_relp_server server({{act::mute_open}, {act::ok, act::silent}});
    klog_test::temp_dir dir;
    klog_test::kmsg_ring ring(dir.file("kmsg.sock"), 1000);
    const std::string marker = "silent relp ";
    for (int i = 1; i <= 5; ++i) {
        ring.add(kmsg_record(6, static_cast<std::uint64_t>(i), 1000000ULL * i,
                             marker + std::to_string(i)));
    }
    const auto err = dir.file("stderr.log");
    background_klogd klogd(relp_daemon_args(dir, ring, server.port(), {"--relp-timeout=1"}), err);
    const bool all = eventually([&] { return stored_by_fake(server, marker).size() == 5; }, 20s);
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    const auto diagnostics = klog_test::read_file(err);
    INFO(diagnostics);
    CHECK(all);
    CHECK(server.connections() >= 3);
    CHECK(diagnostics.find("no answer for 1 s") != std::string::npos);
    for (const auto& [n, times] : stored_by_fake(server, marker)) CHECK(times == 1);
}

TEST_CASE("relp://: after kill -9 the spool does not send again what the saved cursor calls "
          "acknowledged",
          "[integration][relp]") {
    fake_relp_server server({});
    klog_test::temp_dir dir;
    klog_test::kmsg_ring ring(dir.file("kmsg.sock"), 10000);
    const std::string marker = "spooled relp ";
    const auto add = [&](int from, int to) {
        for (int i = from; i <= to; ++i) {
            ring.add(kmsg_record(6, static_cast<std::uint64_t>(i), 1000000ULL * i,
                                 marker + std::to_string(i)));
        }
    };
    add(1, 300);
    const auto err = dir.file("stderr.log");
    const auto args = relp_daemon_args(dir, ring, server.port());
    auto klogd = std::make_unique<background_klogd>(args, err);
    REQUIRE(eventually([&] { return stored_by_fake(server, marker).size() == 300; }, 20s));
    // The cursor says so.
    REQUIRE(eventually(
        [&] {
            return klog_test::read_if_any(dir.file("state")).find("output.acked=300\n") !=
                   std::string::npos;
        },
        10s));
    klogd->signal(SIGKILL);
    klogd->wait_exit(5s);
    klogd = std::make_unique<background_klogd>(args, err);
    add(301, 310);
    const bool all = eventually([&] { return stored_by_fake(server, marker).size() == 310; }, 20s);
    klogd->signal(SIGTERM);
    CHECK(klogd->wait_exit(10s) == 0);
    INFO(klog_test::read_file(err));
    CHECK(all);
    int twice = 0;
    for (const auto& [n, times] : stored_by_fake(server, marker)) twice += times > 1 ? 1 : 0;
    CHECK(twice == 0);
}
