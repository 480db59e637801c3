// --metrics, --metrics-file and --rules with the real tools: a Prometheus server started by the
// test scrapes klogd on 127.0.0.1 every second and answers through its HTTP query API; promtool
// checks the exposition; node_exporter's textfile collector exports --metrics-file.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <sys/wait.h>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "daemon_harness.hpp"
#include "syslog_receiver.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using klog_test::background_klogd;
using klog_test::eventually;

namespace {

/// A TCP connection to 127.0.0.1:PORT (-1 if refused).
int connect_loopback(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

/// GET http://127.0.0.1:PORT/TARGET; the status line's code and the body ("" on failure).
std::pair<int, std::string> http_get(std::uint16_t port, const std::string& target,
                                     const std::string& method = "GET") {
    const int fd = connect_loopback(port);
    if (fd < 0) return {0, ""};
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const std::string req = method + " " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    (void)!::write(fd, req.data(), req.size());
    std::string resp;
    char buf[65536];
    for (int i = 0; i < 10000; ++i) {
        const auto n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        resp.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    const auto sp = resp.find(' ');
    const int code = sp == std::string::npos ? 0 : std::atoi(resp.c_str() + sp + 1);
    const auto body = resp.find("\r\n\r\n");
    return {code, body == std::string::npos ? "" : resp.substr(body + 4)};
}

/// The value of the first sample of an instant-query answer (`"value":[1234.5,"42"]`).
std::optional<double> query(std::uint16_t port, const std::string& promql) {
    std::string q;
    for (const char c : promql) {
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
            q += c;
        } else {
            char hex[4];
            std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(c));
            q += hex;
        }
    }
    const auto [code, body] = http_get(port, "/api/v1/query?query=" + q);
    if (code != 200) return std::nullopt;
    static const std::regex value(R"re("value":\[[0-9.e+]+,"([^"]+)"\])re");
    std::smatch m;
    if (!std::regex_search(body, m, value)) return std::nullopt;
    return std::stod(m[1].str());
}

/// A process the test runs (prometheus, node_exporter), killed at the end.
struct child {
    pid_t pid = -1;
    explicit child(const std::vector<std::string>& argv, const std::string& log) {
        pid = ::fork();
        if (pid == 0) {
            const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            ::dup2(fd, 1);
            ::dup2(fd, 2);
            std::vector<char*> args;
            for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            ::execv(args[0], args.data());
            ::_exit(127);
        }
    }
    ~child() {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    }
};

std::string numbered(std::uint64_t seq, const std::string& text) {
    return klog_test::kmsg_record(6, seq, seq * 1000, text + " " + std::to_string(seq));
}

}  // namespace

TEST_CASE("a real Prometheus scraping klogd sees the records delivered the gap made and a rule "
          "match and promtool accepts the exposition",
          "[integration][metrics]") {
    klog_test::temp_dir dir;
    klog_test::kmsg_ring ring(dir.file("kmsg.sock"), 10000);
    // 500 records, seq 1..500 but 101..150 lost (a gap of 50), two of them matching a rule.
    std::uint64_t sent = 0;
    for (std::uint64_t seq = 1; seq <= 500; ++seq) {
        if (seq >= 101 && seq <= 150) continue;
        if (seq == 200 || seq == 300) {
            ring.add(klog_test::kmsg_record(3, seq, seq * 1000,
                                            "I/O error, dev sda, sector 0 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 2"));
        } else {
            ring.add(numbered(seq, "metrics record"));
        }
        ++sent;
    }
    const auto metrics_port = klog_test::free_port();
    background_klogd klogd({"-n", "-x", "--source=kmsg:" + ring.path(),
                            "--pidfile=" + dir.file("klogd.pid"), "--state-file=none",
                            "--output=file:" + dir.file("kern.log"),
                            "--metrics=127.0.0.1:" + std::to_string(metrics_port),
                            "--rules=" + std::string(KLOG_SOURCE_DIR) + "/klogd/rules/default.rules"},
                           dir.file("err"));
    REQUIRE(eventually([&] { return http_get(metrics_port, "/metrics").first == 200; }));
    REQUIRE(eventually([&] {
        return http_get(metrics_port, "/metrics").second.find("klogd_missed_records_total 50\n") !=
               std::string::npos;
    }));
    const auto exposition = http_get(metrics_port, "/metrics").second;
    INFO(exposition);
    CHECK(http_get(metrics_port, "/").first == 200);
    CHECK(http_get(metrics_port, "/other").first == 404);
    CHECK(http_get(metrics_port, "/metrics", "POST").first == 405);

    const auto check = klog_test::run_process({"/usr/bin/promtool", "check", "metrics"}, exposition);
    INFO(check.out << check.err);
    CHECK(check.exit_code == 0);

    const auto prom_port = klog_test::free_port();
    klog_test::write_file(dir.file("prometheus.yml"),
                          "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                          "scrape_configs:\n  - job_name: klogd\n    static_configs:\n"
                          "      - targets: ['127.0.0.1:" + std::to_string(metrics_port) + "']\n");
    child prometheus({"/usr/bin/prometheus", "--config.file=" + dir.file("prometheus.yml"),
                      "--storage.tsdb.path=" + dir.file("tsdb"),
                      "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
                     dir.file("prometheus.log"));
    // Prometheus starts, scrapes (every second), and answers.
    std::optional<double> records, missed, rule;
    const bool answered = eventually(
        [&] {
            records = query(prom_port, "sum(klogd_records_total)");
            missed = query(prom_port, "klogd_missed_records_total");
            rule = query(prom_port, "klogd_rule_matches_total{rule=\"io_error\"}");
            return records && missed && rule;
        },
        60s);
    INFO(klog_test::read_if_any(dir.file("prometheus.log")));
    REQUIRE(answered);
    CHECK(*records == static_cast<double>(sent));
    CHECK(*missed == 50);
    CHECK(*rule == 2);
    const auto up = query(prom_port, "up{job=\"klogd\"}");
    CHECK(up == 1.0);
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
}

TEST_CASE("node_exporter's textfile collector exports --metrics-file without a scrape error",
          "[integration][metrics]") {
    klog_test::temp_dir dir;
    klog_test::kmsg_ring ring(dir.file("kmsg.sock"), 1000);
    for (std::uint64_t seq = 1; seq <= 20; ++seq) ring.add(numbered(seq, "textfile record"));
    const auto textdir = dir.file("textfile");
    std::filesystem::create_directory(textdir);
    const auto prom = textdir + "/klogd.prom";
    background_klogd klogd({"-n", "-x", "--source=kmsg:" + ring.path(),
                            "--pidfile=" + dir.file("klogd.pid"), "--state-file=none",
                            "--output=file:" + dir.file("kern.log"), "--metrics-file=" + prom,
                            "--metrics-interval=1"},
                           dir.file("err"));
    REQUIRE(eventually([&] {
        return klog_test::read_if_any(prom).find("klogd_records_total{level=\"info\",facility=\"kern\"} 20\n") !=
               std::string::npos;
    }));
    // Only the file itself: the temporary one is not a *.prom file.
    for (const auto& e : std::filesystem::directory_iterator(textdir)) {
        CHECK((e.path().filename() == "klogd.prom" || e.path().extension() != ".prom"));
    }
    const auto port = klog_test::free_port();
    child exporter({"/usr/bin/prometheus-node-exporter", "--collector.disable-defaults",
                    "--collector.textfile", "--collector.textfile.directory=" + textdir,
                    "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                   dir.file("exporter.log"));
    std::string body;
    REQUIRE(eventually([&] {
        auto [code, b] = http_get(port, "/metrics");
        body = b;
        return code == 200;
    }, 30s));
    INFO(body.substr(0, 4000));
    CHECK(body.find("klogd_records_total{facility=\"kern\",level=\"info\"} 20") != std::string::npos);
    CHECK(body.find("node_textfile_scrape_error 0") != std::string::npos);
    // At exit the file is written once more, and stays.
    ring.add(numbered(21, "textfile record"));
    REQUIRE(eventually([&] { return klog_test::read_if_any(dir.file("kern.log")).find("record 21") != std::string::npos; }));
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    CHECK(klog_test::read_file(prom).find("klogd_records_total{level=\"info\",facility=\"kern\"} 21\n") != std::string::npos);
}

TEST_CASE("the options metrics metrics-interval and rules are checked at start", "[integration][metrics]") {
    klog_test::temp_dir dir;
    auto r = klog_test::run_klogd({"--check-config", "--metrics=70000"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--metrics 70000") != std::string::npos);
    r = klog_test::run_klogd({"--check-config", "--metrics=localhost:9100"});
    CHECK(r.exit_code == 2);
    r = klog_test::run_klogd({"--check-config", "--metrics-interval=0"});
    CHECK(r.exit_code == 2);
    r = klog_test::run_klogd({"--check-config", "--rules=/etc/passwd"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.rfind("klogd: --rules /etc/passwd:1: expected '[name]' or 'key = value'\n", 0) == 0);
    CHECK(r.err.find("root") == std::string::npos);
    klog_test::write_file(dir.file("r"), "[ok]\ntext = x\n[bad]\nlevel = 9\n");
    r = klog_test::run_klogd({"--check-config", "--rules=" + dir.file("r")});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(dir.file("r") + ":4: level:") != std::string::npos);
    r = klog_test::run_klogd({"--check-config", "--metrics=[::1]:9100", "--metrics-interval=5",
                              "--rules=" + std::string(KLOG_SOURCE_DIR) + "/klogd/rules/default.rules"});
    CHECK(r.exit_code == 0);
}

TEST_CASE("metrics under attack: malformed requests 1000 connections and a slowloris client "
          "do not hold up delivery and memory stays bounded",
          "[integration][metrics]") {
    klog_test::temp_dir dir;
    klog_test::kmsg_ring ring(dir.file("kmsg.sock"), 100000);
    const auto port = klog_test::free_port();
    const auto log = dir.file("kern.log");
    background_klogd klogd({"-n", "-x", "--source=kmsg:" + ring.path(),
                            "--pidfile=" + dir.file("klogd.pid"), "--state-file=none",
                            "--output=file:" + log,
                            "--metrics=127.0.0.1:" + std::to_string(port)},
                           dir.file("err"));
    REQUIRE(eventually([&] { return http_get(port, "/metrics").first == 200; }));
    // What klogd holds before the attack (ASan builds hold much more of their own).
    const auto baseline_kib = klog_test::peak_rss_kib(klogd.pid());

    std::atomic<bool> stop{false};
    std::vector<int> idle;
    // 1000 connections that send nothing (all but 16 are closed by klogd at once).
    for (int i = 0; i < 1000; ++i) {
        if (const int fd = connect_loopback(port); fd >= 0) idle.push_back(fd);
    }
    // A slowloris: one header byte every 100 ms, on several connections.
    std::thread slow([&] {
        std::vector<int> fds;
        for (int i = 0; i < 8; ++i) {
            if (const int fd = connect_loopback(port); fd >= 0) fds.push_back(fd);
        }
        const std::string header = "GET /metrics HTTP/1.1\r\nX-Slow: ";
        for (int i = 0; i < 100 && !stop; ++i) {
            for (const int fd : fds) (void)!::send(fd, &header[i % header.size()], 1, MSG_NOSIGNAL);
            std::this_thread::sleep_for(100ms);
        }
        for (const int fd : fds) ::close(fd);
    });
    // Malformed requests: garbage, a 20 KiB header, a body, a bad method, a bad version.
    int malformed = 0;
    for (const std::string& req :
         {std::string("GARBAGE\r\n\r\n"), "GET /metrics HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n",
          std::string("POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"),
          std::string("BREW /metrics HTTP/1.1\r\n\r\n"), std::string("GET /metrics HTTP/9.9\r\n\r\n"),
          std::string("\x00\x01\x02\xff\r\n\r\n", 8)}) {
        if (const int fd = connect_loopback(port); fd >= 0) {
            (void)!::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
            ++malformed;
            ::close(fd);
        }
    }
    // Meanwhile the kernel logs: each record's delivery latency is measured.
    std::vector<double> latency_ms;
    for (std::uint64_t seq = 1; seq <= 50; ++seq) {
        const auto t0 = std::chrono::steady_clock::now();
        ring.add(numbered(seq, "under attack"));
        const std::string want = "under attack " + std::to_string(seq) + "\n";
        REQUIRE(eventually([&] { return klog_test::read_if_any(log).find(want) != std::string::npos; }, 10s));
        latency_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        std::this_thread::sleep_for(50ms);
    }
    stop = true;
    slow.join();
    for (const int fd : idle) ::close(fd);
    std::sort(latency_ms.begin(), latency_ms.end());
    const auto peak_kib = klog_test::peak_rss_kib(klogd.pid());
    WARN("metrics attack: " << idle.size() << " idle connections, 8 slowloris, " << malformed
                            << " malformed requests; delivery latency median "
                            << latency_ms[latency_ms.size() / 2] << " ms, max "
                            << latency_ms.back() << " ms; klogd peak RSS " << peak_kib
                            << " KiB (" << baseline_kib << " KiB before)");
    CHECK(latency_ms.size() == 50);
    CHECK(peak_kib < baseline_kib + 16 * 1024);  // bounded: 16 sessions of 8 KiB, not 1000
    // Still serving once the clients are gone (slots freed at their close or their 10 s).
    CHECK(eventually([&] { return http_get(port, "/metrics").first == 200; }, 15s));
    CHECK(klogd.running());
}

TEST_CASE("after a restart the counters start at 0 and records skipped as already delivered are "
          "not counted",
          "[integration][metrics]") {
    klog_test::temp_dir dir;
    klog_test::kmsg_ring ring(dir.file("kmsg.sock"), 1000);
    for (std::uint64_t seq = 1; seq <= 30; ++seq) ring.add(numbered(seq, "restart record"));
    const auto prom = dir.file("klogd.prom");
    const std::vector<std::string> args{"-n", "-x", "--source=kmsg:" + ring.path(),
                                        "--pidfile=" + dir.file("klogd.pid"),
                                        "--state-file=" + dir.file("state"),
                                        "--output=file:" + dir.file("kern.log"),
                                        "--metrics-file=" + prom, "--metrics-interval=1"};
    const auto total = [&] {
        const auto text = klog_test::read_if_any(prom);
        const std::string key = "klogd_records_total{level=\"info\",facility=\"kern\"} ";
        const auto at = text.find(key);
        return at == std::string::npos ? -1L : std::atol(text.c_str() + at + key.size());
    };
    {
        background_klogd klogd(args, dir.file("err"));
        REQUIRE(eventually([&] { return total() == 30; }));
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    for (std::uint64_t seq = 31; seq <= 40; ++seq) ring.add(numbered(seq, "restart record"));
    {
        background_klogd klogd(args, dir.file("err2"));
        REQUIRE(eventually([&] { return klog_test::read_if_any(dir.file("kern.log")).find("record 40\n") != std::string::npos; }));
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    CHECK(total() == 10);  // the 30 read again and skipped are not counted
}

TEST_CASE("the shipped Prometheus alerting rules pass promtool check rules", "[integration][metrics]") {
    const auto r = klog_test::run_process(
        {"/usr/bin/promtool", "check", "rules",
         std::string(KLOG_SOURCE_DIR) + "/klogd/rules/prometheus-alerts.yml"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("SUCCESS: 3 rules found") != std::string::npos);
}
