// Incidents and pstore through the real binary: a stand-in /dev/kmsg serving a real Oops, the
// daemon's outputs and --incident-dir, and a pstore directory holding the previous boot's log.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <string>
#include <vector>

#include "daemon_harness.hpp"
#include "syslog_receiver.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using klog_test::background_klogd;
using klog_test::eventually;

namespace {

/// The guest's Oops (tests/data/incidents/guest-oops-6.1.log) as /dev/kmsg records from `seq`.
std::vector<std::string> oops_records(std::uint64_t seq) {
    std::ifstream in(klog_test::data_path("incidents/guest-oops-6.1.log"));
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] != '<') continue;
        const auto close = line.find('>');
        const int pri = std::stoi(line.substr(1, close - 1));
        const auto ts_end = line.find("] ");
        const auto ts = line.substr(close + 2, ts_end - close - 2);
        const auto dot = ts.find('.');
        const std::uint64_t usec = std::stoull(ts.substr(0, dot)) * 1000000 + std::stoull(ts.substr(dot + 1));
        out.push_back(klog_test::kmsg_record(pri, seq++, usec, line.substr(ts_end + 2)));
    }
    return out;
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

std::vector<std::string> files_in(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        out.push_back(it->path().filename().string());
    }
    return out;
}

}  // namespace

TEST_CASE("daemon: an Oops read from the kernel is one incident in every format and one file "
          "and a restart does not report it again",
          "[integration][incidents]") {
    klog_test::temp_dir dir;
    klog_test::kmsg_ring ring(dir.file("kmsg.sock"), 10000);
    ring.add(klog_test::kmsg_record(6, 1, 1000, "before"));
    for (const auto& r : oops_records(2)) ring.add(r);
    ring.add(klog_test::kmsg_record(6, 100, 9000000, "after the oops"));
    const auto json = dir.file("kern.json");
    const auto text = dir.file("kern.log");
    const auto incidents = dir.file("incidents");
    const std::vector<std::string> args{"-n", "-x", "--source=kmsg:" + ring.path(),
                                        "--pidfile=" + dir.file("klogd.pid"),
                                        "--state-file=" + dir.file("state"),
                                        "--pstore=none",
                                        "--incident-dir=" + incidents,
                                        "--output=file:" + text, "--format=json",
                                        "--output=file:" + json};
    // --format applies to every output: json in both; the summary is the text of the record.
    {
        background_klogd klogd(args, dir.file("err"));
        REQUIRE(eventually([&] { return count(klog_test::read_if_any(json), "after the oops") == 1; }));
        REQUIRE(eventually([&] { return files_in(incidents).size() == 1; }));
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    const auto out = klog_test::read_file(json);
    CHECK(count(out, "\"incident\":{\"kind\":\"oops\"") == 1);
    CHECK(count(out, "\"function\":\"klogd_test_crash\",\"module\":\"klogd_test_mod\"") == 1);
    CHECK(count(out, "\"origin\":\"klogd\"") >= 1);
    // The incident record comes after the block's last record (the end trace), before "after".
    const auto end_trace = out.find("---[ end trace");
    const auto report = out.find("\"incident\":");
    CHECK(end_trace < report);
    CHECK(report < out.find("after the oops"));
    const auto files = files_in(incidents);
    REQUIRE(files.size() == 1);
    const auto body = klog_test::read_file(incidents + "/" + files[0]);
    CHECK(body.find("\"kind\":\"oops\"") != std::string::npos);
    CHECK(body.find("\"first_seq\":3,") != std::string::npos);  // the BUG: line
    CHECK(body.back() == '\n');

    // Started again: the ring is read again (every output has it): no second report.
    ring.add(klog_test::kmsg_record(6, 101, 9100000, "second run"));
    {
        background_klogd klogd(args, dir.file("err2"));
        REQUIRE(eventually([&] { return count(klog_test::read_if_any(json), "second run") == 1; }));
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    CHECK(count(klog_test::read_file(json), "\"incident\":{") == 1);
    CHECK(files_in(incidents).size() == 1);
}

TEST_CASE("daemon: the previous boot's log from pstore is delivered once marked and archived and "
          "a crash before the archive says it comes again",
          "[integration][incidents][pstore]") {
    klog_test::temp_dir dir;
    const auto pstore = dir.file("pstore");
    std::filesystem::create_directory(pstore);
    std::string dump = "Panic#1 Part1\n";
    dump += "<6>[    1.000000] previous boot record\n";
    dump += "<0>[   12.000000] Kernel panic - not syncing: sysrq triggered crash\n";
    dump += "<4>[   12.000001] CPU: 0 PID: 90 Comm: sh Not tainted 6.1.0-56-amd64 #1  Debian 6.1.192-2\n";
    dump += "<4>[   12.000002] Call Trace:\n";
    dump += "<4>[   12.000003]  <TASK>\n";
    dump += "<4>[   12.000004]  panic+0x118/0x300\n";
    dump += "<4>[   12.000005]  </TASK>\n";
    dump += "<0>[   12.000006] Kernel Offset: disabled\n";
    dump += "<0>[   12.000007] ---[ end Kernel panic - not syncing: sysrq triggered crash ]---\n";
    klog_test::write_file(pstore + "/dmesg-ramoops-0", dump);
    klog_test::write_file(pstore + "/console-ramoops-0", "not the kernel log\n");
    klog_test::write_file(pstore + "/dmesg-efi-1.enc.z", std::string("\x78\x9c\x01", 3));

    klog_test::kmsg_ring ring(dir.file("kmsg.sock"), 1000);
    ring.add(klog_test::kmsg_record(6, 1, 1000, "this boot"));
    const auto log = dir.file("kern.log");
    const auto state_dir = dir.file("lib");
    std::filesystem::create_directory(state_dir);
    const std::vector<std::string> args{"-n", "-x", "-d", "--format=raw",
                                        "--source=kmsg:" + ring.path(),
                                        "--pidfile=" + dir.file("klogd.pid"),
                                        "--state-file=" + state_dir + "/state",
                                        "--pstore=" + pstore, "--output=file:" + log};
    {
        background_klogd klogd(args, dir.file("err"));
        REQUIRE(eventually([&] { return count(klog_test::read_if_any(log), "this boot") == 1; }));
        REQUIRE(eventually([&] { return !std::filesystem::exists(pstore + "/dmesg-ramoops-0"); }));
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    auto out = klog_test::read_file(log);
    INFO(out);
    CHECK(count(out, "<6,pstore>[    1.000000] previous boot record\n") == 1);
    CHECK(count(out, "<0,pstore>[   12.000000] Kernel panic - not syncing: sysrq triggered crash\n") == 1);
    CHECK(count(out, "klogd: incident panic (previous boot, pstore): Kernel panic - not syncing: "
                     "sysrq triggered crash") == 1);
    CHECK(count(out, "the previous boot's kernel log from pstore follows") == 1);
    CHECK(out.find("not the kernel log") == std::string::npos);  // console-*: not read
    // Its order: pstore first, then this boot.
    CHECK(out.find("previous boot record") < out.find("this boot"));
    const auto archived = files_in(state_dir + "/pstore");
    REQUIRE(archived.size() == 1);
    CHECK(archived[0].rfind("dmesg-ramoops-0.", 0) == 0);
    CHECK(klog_test::read_file(state_dir + "/pstore/" + archived[0]) == dump);
    CHECK(std::filesystem::exists(pstore + "/dmesg-efi-1.enc.z"));  // left alone, said
    CHECK(klog_test::read_file(dir.file("err")).find("compressed pstore record") != std::string::npos);

    // A restart: nothing from pstore again.
    ring.add(klog_test::kmsg_record(6, 2, 2000, "after restart"));
    {
        background_klogd klogd(args, dir.file("err2"));
        REQUIRE(eventually([&] { return count(klog_test::read_if_any(log), "after restart") == 1; }));
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    out = klog_test::read_file(log);
    CHECK(count(out, "previous boot record") == 1);
    CHECK(count(out, "incident panic") == 1);

    // The same file back (a pstore whose unlink failed): known by its contents, not sent.
    klog_test::write_file(pstore + "/dmesg-ramoops-0", dump);
    ring.add(klog_test::kmsg_record(6, 3, 3000, "third run"));
    {
        background_klogd klogd(args, dir.file("err3"));
        REQUIRE(eventually([&] { return count(klog_test::read_if_any(log), "third run") == 1; }));
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    CHECK(count(klog_test::read_file(log), "previous boot record") == 1);
    CHECK_FALSE(std::filesystem::exists(pstore + "/dmesg-ramoops-0"));

    // A run killed between delivery and archive: the next one delivers it again and says so.
    std::string dump2 = dump;
    dump2.replace(dump2.find("previous boot record"), 20, "another boot record!");
    klog_test::write_file(pstore + "/dmesg-ramoops-1", dump2);
    const auto marker_name = [&] {
        for (const auto& f : files_in(state_dir + "/pstore")) {
            if (f.find(".delivering") != std::string::npos) return f;
        }
        return std::string();
    };
    {
        // Outputs that cannot take it: a collector that is not there keeps it unsafe.
        auto blocked = args;
        blocked.push_back("--output=tcp://127.0.0.1:" + std::to_string(klog_test::free_port()));
        blocked.push_back("--spool-dir=none");
        background_klogd klogd(blocked, dir.file("err4"));
        REQUIRE(eventually([&] { return count(klog_test::read_if_any(log), "another boot record!") == 1; }));
        std::this_thread::sleep_for(300ms);
        CHECK_FALSE(marker_name().empty());
        CHECK(std::filesystem::exists(pstore + "/dmesg-ramoops-1"));  // not archived yet
        klogd.signal(SIGKILL);
        CHECK(klogd.wait_exit(5s) == 128 + SIGKILL);
    }
    ring.add(klog_test::kmsg_record(6, 4, 4000, "fifth run"));
    {
        background_klogd klogd(args, dir.file("err5"));
        REQUIRE(eventually([&] { return count(klog_test::read_if_any(log), "fifth run") == 1; }));
        REQUIRE(eventually([&] { return !std::filesystem::exists(pstore + "/dmesg-ramoops-1"); }));
        klogd.signal(SIGTERM);
        CHECK(klogd.wait_exit(10s) == 0);
    }
    out = klog_test::read_file(log);
    CHECK(count(out, "some of it may be here twice") == 1);
    CHECK(marker_name().empty());
}

TEST_CASE("the options incident-dir and pstore are checked at start", "[integration][incidents]") {
    klog_test::temp_dir dir;
    klog_test::write_file(dir.file("plain"), "x");
    auto r = klog_test::run_klogd({"--check-config", "--incident-dir=" + dir.file("plain")});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--incident-dir") != std::string::npos);
    r = klog_test::run_klogd({"--check-config", "--pstore="});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--pstore") != std::string::npos);
    r = klog_test::run_klogd({"--check-config", "--pstore=none", "--incident-dir=" + dir.file("new")});
    CHECK(r.exit_code == 0);
}
