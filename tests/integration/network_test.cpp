// Network outputs against real receivers: a private rsyslogd (local socket, UDP, TCP, TLS), a
// private syslog-ng (TCP), and a TCP capture process killed and restarted under load; the disk
// spool across restarts and over its cap. klogd reads a SOCK_SEQPACKET stand-in for /dev/kmsg.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>

#include "daemon_harness.hpp"
#include "klog/sinks/spool.hpp"
#include "syslog_receiver.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using klog_test::background_klogd;
using klog_test::eventually;
using klog_test::kmsg_record;
using klog_test::kmsg_standin;

namespace {

struct network_fixture {
    klog_test::temp_dir dir;
    kmsg_standin kmsg{dir.file("kmsg.sock")};
    std::string err = dir.file("stderr.log");

    std::vector<std::string> args(const std::vector<std::string>& extra) const {
        std::vector<std::string> a{"-n",
                                   "-d",
                                   "-x",
                                   "--source=kmsg:" + kmsg.path(),
                                   "--pidfile=" + dir.file("klogd.pid"),
                                   "--state-file=" + dir.file("state")};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
    bool ready(const background_klogd& k) {
        return kmsg.accept(10s) && eventually([&] {
                   return ::access(dir.file("klogd.pid").c_str(), F_OK) == 0 && k.pid() > 0;
               });
    }
    std::string diagnostics() const { return klog_test::read_file(err); }
};

/// The three records every receiver must store byte for byte.
struct sample {
    std::string kmsg_text;  ///< as /dev/kmsg prints it (escaped)
    std::string text;       ///< the bytes
    std::uint64_t ts;
};
const std::vector<sample> samples = {
    {"hello over the network", "hello over the network", 1000000},
    {"line one\\x0aline two", "line one\nline two", 2000000},
    {"caf\\xc3\\xa9 \\xe2\\x9c\\x93 \\xff end", "caf\xc3\xa9 \xe2\x9c\x93 \xff end", 3000000},
};

void send_samples(kmsg_standin& kmsg) {
    for (std::size_t i = 0; i < samples.size(); ++i) {
        kmsg.send(kmsg_record(6, i + 1, samples[i].ts, samples[i].kmsg_text));
    }
}

std::optional<std::uint64_t> seq_of(const std::string& frame) {
    const auto at = frame.find("seq=\"");
    if (at == std::string::npos) return std::nullopt;
    return std::stoull(frame.substr(at + 5));
}

/// Records spooled under `dir` (every segment decoded).
std::size_t spooled_records(const std::string& dir) {
    std::size_t n = 0;
    if (!std::filesystem::exists(dir)) return 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
        if (e.path().extension() != ".spool") continue;
        n += klog::sinks::spool::decode(klog_test::read_file(e.path().string())).records.size();
    }
    return n;
}

std::string msg_of(const std::string& frame) {
    // RFC 5424: ... [kmsg@32473 ...] MSG — the SD element ends at the first unescaped "] ".
    const auto at = frame.find("] ");
    return at == std::string::npos ? std::string{} : frame.substr(at + 2);
}

}  // namespace

TEST_CASE("rsyslogd receives kernel records over the local socket, UDP, TCP and TLS byte for byte",
          "[integration][network]") {
    network_fixture f;
    const auto pki = klog_test::make_test_pki(f.dir.path());
    klog_test::rsyslog_receiver rsyslog(f.dir.path(), pki);
    background_klogd klogd(f.args({"--output=syslog:" + rsyslog.socket_path(),
                                   "--output=udp://127.0.0.1:" + std::to_string(rsyslog.udp_port()),
                                   "--output=tcp://127.0.0.1:" + std::to_string(rsyslog.tcp_port()),
                                   "--output=tls://127.0.0.1:" + std::to_string(rsyslog.tls_port()),
                                   "--tls-ca=" + pki.ca}),
                           f.err);
    REQUIRE(f.ready(klogd));
    send_samples(f.kmsg);
    const bool all = eventually(
        [&] { return klog_test::parse_received(rsyslog.output()).size() >= 4 * samples.size(); },
        20s);
    INFO("klogd:\n" << f.diagnostics() << "rsyslogd:\n" << rsyslog.log());
    CHECK(all);
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);

    const auto got = klog_test::parse_received(rsyslog.output());
    for (const std::string input : {"imuxsock", "imudp", "imtcp", "tls"}) {
        std::vector<klog_test::received_message> mine;
        for (const auto& m : got) {
            if (m.input == input) mine.push_back(m);
        }
        INFO("input " << input);
        REQUIRE(mine.size() == samples.size());
        for (std::size_t i = 0; i < samples.size(); ++i) {
            CHECK(mine[i].facility == "kern");
            CHECK(mine[i].program == "kernel");
            if (input == "imuxsock") {
                // Local syslog: `<PRI>Mmm dd hh:mm:ss kernel: [secs.usecs] text`; rsyslog keeps
                // the space after the tag in the message.
                CHECK(mine[i].tag == "kernel:");
                const std::string stamp =
                    "[    " + std::to_string(samples[i].ts / 1000000) + ".000000] ";
                CHECK(mine[i].msg == " " + stamp + samples[i].text);
            } else {
                CHECK(mine[i].tag == "kernel");
                CHECK(mine[i].msg == samples[i].text);
            }
        }
    }
}

TEST_CASE("syslog-ng's syslog() source receives kernel records over TCP byte for byte",
          "[integration][network]") {
    network_fixture f;
    klog_test::syslog_ng_receiver syslog_ng(f.dir.path());
    background_klogd klogd(
        f.args({"--output=tcp://127.0.0.1:" + std::to_string(syslog_ng.tcp_port())}), f.err);
    REQUIRE(f.ready(klogd));
    send_samples(f.kmsg);
    const bool all = eventually(
        [&] { return klog_test::parse_received(syslog_ng.output()).size() >= samples.size(); },
        20s);
    INFO("klogd:\n" << f.diagnostics() << "syslog-ng:\n" << syslog_ng.log());
    CHECK(all);
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    const auto got = klog_test::parse_received(syslog_ng.output());
    REQUIRE(got.size() == samples.size());
    for (std::size_t i = 0; i < samples.size(); ++i) {
        CHECK(got[i].facility == "kern");
        CHECK(got[i].program == "kernel");
        CHECK(got[i].msg == samples[i].text);
    }
}

TEST_CASE(
    "A hundred thousand records over TCP while the receiver is killed and restarted twice: all "
    "arrive, in order",
    "[integration][network]") {
    network_fixture f;
    const auto port = klog_test::free_port();
    const std::string capture_dir = f.dir.file("capture");
    std::filesystem::create_directory(capture_dir);
    klog_test::tcp_capture receiver(capture_dir, port);
    receiver.start();
    background_klogd klogd(f.args({"--output=tcp://127.0.0.1:" + std::to_string(port),
                                   "--spool-dir=" + f.dir.file("spool")}),
                           f.err);
    REQUIRE(f.ready(klogd));
    constexpr std::uint64_t total = 100000;
    for (std::uint64_t seq = 1; seq <= total; ++seq) {
        f.kmsg.send(kmsg_record(6, seq, 1000000 + seq, "network record " + std::to_string(seq)));
        if (seq == 30000 || seq == 65000) {
            receiver.kill();  // SIGKILL: whatever it had not read is gone
            std::this_thread::sleep_for(300ms);
            receiver.start();
        }
    }
    std::vector<std::string> frames;
    const bool complete = eventually(
        [&] {
            frames = receiver.frames();
            return frames.size() >= total && seq_of(frames.back()) == total;
        },
        45s);
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    INFO(f.diagnostics());
    CHECK(complete);

    std::uint64_t next = 1;
    std::uint64_t duplicates = 0;
    std::uint64_t out_of_order = 0;
    for (const auto& frame : frames) {
        const auto seq = seq_of(frame);
        if (!seq) continue;  // klogd's own notices
        if (*seq == next) {
            ++next;
        } else if (*seq < next) {
            ++duplicates;
        } else {
            ++out_of_order;  // a record skipped: lost or reordered
        }
    }
    std::cout << "network kill/restart: " << (next - 1) << " of " << total
              << " records arrived in order, " << duplicates
              << " duplicates (sent again after a broken connection)\n";
    CHECK(next - 1 == total);
    CHECK(out_of_order == 0);
}

TEST_CASE("Receiver down for the whole run: the spool keeps every record and replays it in order",
          "[integration][network]") {
    network_fixture f;
    const auto port = klog_test::free_port();
    const std::string capture_dir = f.dir.file("capture");
    std::filesystem::create_directory(capture_dir);
    const std::string spool = f.dir.file("spool");
    const std::vector<std::string> out{"--output=tcp://127.0.0.1:" + std::to_string(port),
                                       "--spool-dir=" + spool};
    constexpr std::uint64_t total = 2000;
    {
        background_klogd klogd(f.args(out), f.err);
        REQUIRE(f.ready(klogd));
        for (std::uint64_t seq = 1; seq <= total; ++seq) {
            f.kmsg.send(
                kmsg_record(6, seq, 1000000 + seq, "spooled record " + std::to_string(seq)));
        }
        CHECK(eventually([&] { return spooled_records(spool) == total; }, 20s));
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    INFO(f.diagnostics());
    CHECK(spooled_records(spool) == total);

    klog_test::tcp_capture receiver(capture_dir, port);
    receiver.start();
    background_klogd klogd(f.args(out), f.err);
    REQUIRE(f.ready(klogd));
    std::vector<std::string> frames;
    CHECK(eventually([&] { return (frames = receiver.frames()).size() >= total; }, 20s));
    f.kmsg.send(kmsg_record(6, total + 1, 9000000, "after the replay"));
    CHECK(eventually([&] { return (frames = receiver.frames()).size() >= total + 1; }, 20s));
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    REQUIRE(frames.size() == total + 1);
    for (std::uint64_t i = 0; i <= total; ++i) CHECK(seq_of(frames[i]) == i + 1);
    CHECK(msg_of(frames[total]) == "after the replay");
    CHECK(spooled_records(spool) == 0);
}

TEST_CASE(
    "A spool cap too small on a ?full=drop output: exactly one exact 'missed' record for what did "
    "not fit",
    "[integration][network]") {
    network_fixture f;
    const auto port = klog_test::free_port();
    const std::string capture_dir = f.dir.file("capture");
    std::filesystem::create_directory(capture_dir);
    const std::string spool = f.dir.file("spool");
    const std::vector<std::string> out{
        "--output=tcp://127.0.0.1:" + std::to_string(port) + "?full=drop", "--spool-dir=" + spool,
        "--spool-max=16K"};
    constexpr std::uint64_t total = 1000;
    {
        background_klogd klogd(f.args(out), f.err);
        REQUIRE(f.ready(klogd));
        for (std::uint64_t seq = 1; seq <= total; ++seq) {
            f.kmsg.send(kmsg_record(6, seq, 1000000 + seq, "capped record " + std::to_string(seq)));
        }
        // klogd has read them all when spooled + dropped reaches the total (exit summary).
        std::this_thread::sleep_for(1s);
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    const auto diagnostics = f.diagnostics();
    INFO(diagnostics);
    const auto kept = spooled_records(spool) - 1;  // the notice is spooled too
    REQUIRE(kept > 10);
    REQUIRE(kept < total);
    // The notice is spooled too.
    CHECK(diagnostics.find(std::to_string(kept + 1) + " spooled, " +
                           std::to_string(total - kept) + " dropped") != std::string::npos);

    klog_test::tcp_capture receiver(capture_dir, port);
    receiver.start();
    background_klogd klogd(f.args(out), f.err);
    REQUIRE(f.ready(klogd));
    std::vector<std::string> frames;
    CHECK(eventually([&] { return (frames = receiver.frames()).size() >= kept + 1; }, 20s));
    std::this_thread::sleep_for(300ms);
    frames = receiver.frames();
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    REQUIRE(frames.size() == kept + 1);
    for (std::uint64_t i = 0; i < kept; ++i) CHECK(seq_of(frames[i]) == i + 1);
    // klogd's own record: APP-NAME klogd, its text after the tag.
    CHECK(frames[kept].find(" klogd - - ") != std::string::npos);
    CHECK(msg_of(frames[kept]) == "missed " + std::to_string(total - kept) +
                                      " kernel messages (seq " + std::to_string(kept + 1) + ".." +
                                      std::to_string(total) + ")");
}
