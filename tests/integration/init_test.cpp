// The init integration files of klogd/init/, each used for real: the LSB script and an OpenRC
// run of the service's declarations start and stop the real daemon, systemd-analyze checks the
// unit, logrotate runs the snippet against a klogd writing a file.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <regex>
#include <string>

#include "daemon_harness.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using klog_test::eventually;
using klog_test::file_lines;
using klog_test::kmsg_record;
using klog_test::read_file;
using klog_test::read_if_any;
using klog_test::run_process;

namespace {

const std::string init_dir = std::string(KLOG_SOURCE_DIR) + "/klogd/init";

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
        s.replace(at, from.size(), to);
    }
    return s;
}

// Whether the process holds `path` itself open (not a file renamed away from it).
bool holds_open(pid_t pid, const std::string& path) {
    std::error_code ec;
    for (const auto& fd :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        std::error_code link_ec;
        if (std::filesystem::read_symlink(fd.path(), link_ec) == path) return true;
    }
    return false;
}

struct init_fixture {
    klog_test::temp_dir dir;
    klog_test::kmsg_standin kmsg{dir.file("kmsg.sock")};
    std::string out = dir.file("kern.log");
    std::string pid = dir.file("klogd.pid");
    std::string opts() const {
        return "-x --format=raw -f " + out + " --source=kmsg:" + kmsg.path() +
               " --state-file=" + dir.file("state");
    }
    std::vector<std::string> env() const {
        return {"/usr/bin/env", "DAEMON=" KLOGD_BINARY, "PIDFILE=" + pid, "KLOGD_OPTS=" + opts(),
                "KLOGD_NO_DEFAULTS=1"};
    }
};

}  // namespace

TEST_CASE("the LSB init script starts, reports, reloads and stops the daemon",
          "[integration][init]") {
    init_fixture f;
    auto script = [&](const std::string& action) {
        auto argv = f.env();
        argv.push_back("/usr/bin/dash");
        argv.push_back(init_dir + "/klogd.init");
        argv.push_back(action);
        return run_process(argv, "", 20000);
    };
    const auto start = script("start");
    INFO(start.err);
    REQUIRE(start.exit_code == 0);
    REQUIRE(f.kmsg.accept(10s));
    const auto status = script("status");
    CHECK(status.exit_code == 0);
    CHECK(status.out.find("klogd is running (pid ") != std::string::npos);
    CHECK(script("start").out.find("already running") != std::string::npos);

    f.kmsg.send(kmsg_record(6, 0, 1, "one"));
    REQUIRE(eventually([&] { return file_lines(f.out).size() == 1; }));
    REQUIRE(::rename(f.out.c_str(), (f.out + ".1").c_str()) == 0);
    CHECK(script("reload").exit_code == 0);
    REQUIRE(eventually([&] { return ::access(f.out.c_str(), F_OK) == 0; }));
    f.kmsg.send(kmsg_record(6, 1, 2, "two"));
    REQUIRE(eventually([&] { return file_lines(f.out).size() == 1; }));

    CHECK(script("stop").exit_code == 0);
    CHECK(::access(f.pid.c_str(), F_OK) != 0);
    const auto stopped = script("status");
    CHECK(stopped.exit_code == 3);
    CHECK(script("bogus").exit_code == 2);
}

TEST_CASE("the OpenRC service's declarations start and reload the daemon", "[integration][init]") {
    init_fixture f;
    // What openrc-run does with a declarative service, with Debian's start-stop-daemon.
    const std::string shim =
        "ebegin() { :; }; eend() { return \"$1\"; }; . \"$1\"; "
        "start-stop-daemon --start --exec \"$command\" --pidfile \"$pidfile\" -- $command_args "
        "|| exit 1; "
        "case \"$extra_started_commands\" in *reload*) ;; *) exit 3 ;; esac; "
        "[ \"$2\" = reload ] && reload; "
        "exit 0";
    auto run = [&](const std::string& then) {
        auto argv = f.env();
        argv.insert(argv.end(),
                    {"/usr/bin/dash", "-c", shim, "openrc-shim", init_dir + "/klogd.openrc", then});
        return run_process(argv, "", 20000);
    };
    const auto started = run("");
    INFO(started.err);
    REQUIRE(started.exit_code == 0);
    REQUIRE(f.kmsg.accept(10s));
    REQUIRE(eventually([&] { return read_if_any(f.pid).size() > 1; }));
    const pid_t pid = std::stoi(read_file(f.pid));
    f.kmsg.send(kmsg_record(6, 0, 1, "one"));
    REQUIRE(eventually([&] { return file_lines(f.out).size() == 1; }));
    REQUIRE(::rename(f.out.c_str(), (f.out + ".1").c_str()) == 0);
    // The service's reload(), as `rc-service klogd reload` runs it.
    const auto reload =
        run_process({"/usr/bin/dash", "-c",
                     "ebegin() { :; }; eend() { return \"$1\"; }; PIDFILE=" + f.pid + " . " +
                         init_dir + "/klogd.openrc; reload"},
                    "", 10000);
    CHECK(reload.exit_code == 0);
    REQUIRE(eventually([&] { return ::access(f.out.c_str(), F_OK) == 0; }));
    REQUIRE(::kill(pid, SIGTERM) == 0);
    CHECK(eventually([&] { return ::access(f.pid.c_str(), F_OK) != 0; }));
}

TEST_CASE("systemd-analyze verifies the unit", "[integration][init]") {
    klog_test::temp_dir dir;
    // verify checks that ExecStart exists: point it at the built binary.
    const auto unit = dir.file("klogd.service");
    klog_test::write_file(
        unit, replace_all(read_file(init_dir + "/klogd.service"), "/sbin/klogd", KLOGD_BINARY));
    const auto r = run_process({"/usr/bin/systemd-analyze", "verify", "--man=no", unit});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    const auto text = read_file(unit);
    CHECK(text.find("Type=notify") != std::string::npos);
    CHECK(text.find(std::string("ExecStart=") + KLOGD_BINARY + " -n") != std::string::npos);
}

TEST_CASE("the inittab line runs klogd in the foreground", "[integration][init]") {
    const auto text = read_file(init_dir + "/inittab");
    std::smatch m;
    REQUIRE(std::regex_search(text, m,
                              std::regex("^::respawn:(/sbin/klogd -n.*)$", std::regex::multiline)));
    // The same line drives the qemu guest (tests/vm); here: its switches parse and check.
    init_fixture f;
    const auto check = klog_test::run_klogd({"-n", "--check-config", "--pidfile=" + f.pid});
    CHECK(check.exit_code == 0);
}

TEST_CASE("logrotate with the klogd snippet (create + HUP) loses no line", "[integration][init]") {
    init_fixture f;
    klog_test::background_klogd klogd({"-n", "-x", "--format=raw", "-f", f.out,
                                       "--source=kmsg:" + f.kmsg.path(), "--pidfile=" + f.pid},
                                      f.dir.file("err.log"));
    REQUIRE(f.kmsg.accept(10s));
    REQUIRE(eventually([&] { return read_if_any(f.pid) == std::to_string(klogd.pid()) + "\n"; }));
    auto conf = read_file(init_dir + "/klogd.logrotate");
    conf = replace_all(conf, "/var/log/kern.log", f.out);
    conf = replace_all(conf, "/run/klogd.pid", f.pid);
    conf = replace_all(conf, "create 0640 root adm", "create 0640 root root");
    conf = replace_all(conf, "    compress\n    delaycompress\n", "");
    klog_test::write_file(f.dir.file("logrotate.conf"), conf);

    std::uint64_t seq = 0;
    std::size_t rotated_files = 0;
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 200; ++i, ++seq)
            f.kmsg.send(kmsg_record(6, seq, seq, "line " + std::to_string(seq)));
        REQUIRE(eventually([&] {
            return read_if_any(f.out).find("line " + std::to_string(seq - 1) + "\n") !=
                   std::string::npos;
        }));
        const auto r = run_process({"/usr/sbin/logrotate", "-f", "-s", f.dir.file("lr.state"),
                                    f.dir.file("logrotate.conf")});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        ++rotated_files;
        // Records klogd reads before it handles the HUP go to the rotated file (counted below);
        // the next round starts once klogd writes the new file.
        REQUIRE(eventually([&] { return holds_open(klogd.pid(), f.out); }));
    }
    for (int i = 0; i < 10; ++i, ++seq)
        f.kmsg.send(kmsg_record(6, seq, seq, "line " + std::to_string(seq)));
    REQUIRE(eventually([&] {
        return read_if_any(f.out).find("line " + std::to_string(seq - 1) + "\n") !=
               std::string::npos;
    }));

    // Every line exactly once across kern.log, kern.log.1 .. .3, no NUL bytes anywhere.
    std::string all;
    for (std::size_t n = rotated_files; n >= 1; --n)
        all += read_if_any(f.out + "." + std::to_string(n));
    all += read_file(f.out);
    CHECK(all.find('\0') == std::string::npos);
    std::size_t count = 0;
    for (std::uint64_t s = 0; s < seq; ++s) {
        const auto needle = "] line " + std::to_string(s) + "\n";
        const auto at = all.find(needle);
        CHECK(at != std::string::npos);
        if (at != std::string::npos && all.find(needle, at + 1) == std::string::npos) ++count;
    }
    CHECK(count == seq);
}

TEST_CASE("logrotate copytruncate leaves no NUL bytes (klogd appends)", "[integration][init]") {
    init_fixture f;
    klog_test::background_klogd klogd({"-n", "-x", "--format=raw", "-f", f.out,
                                       "--source=kmsg:" + f.kmsg.path(), "--pidfile=" + f.pid},
                                      f.dir.file("err.log"));
    REQUIRE(f.kmsg.accept(10s));
    klog_test::write_file(f.dir.file("lr.conf"),
                          f.out + " {\n    rotate 2\n    copytruncate\n    missingok\n}\n");
    std::uint64_t seq = 0;
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 100; ++i, ++seq)
            f.kmsg.send(kmsg_record(6, seq, seq, "line " + std::to_string(seq)));
        REQUIRE(eventually([&] {
            return read_if_any(f.out).find("line " + std::to_string(seq - 1) + "\n") !=
                   std::string::npos;
        }));
        REQUIRE(run_process({"/usr/sbin/logrotate", "-f", "-s", f.dir.file("lr.state"),
                             f.dir.file("lr.conf")})
                    .exit_code == 0);
    }
    for (int i = 0; i < 10; ++i, ++seq)
        f.kmsg.send(kmsg_record(6, seq, seq, "line " + std::to_string(seq)));
    REQUIRE(eventually([&] {
        return read_if_any(f.out).find("line " + std::to_string(seq - 1) + "\n") !=
               std::string::npos;
    }));
    const auto current = read_file(f.out);
    CHECK(current.find('\0') == std::string::npos);
    CHECK(current.rfind("<6>[    0.000300] line 300\n", 0) == 0);  // starts at offset 0
    CHECK(file_lines(f.out).size() == 10);
    CHECK(read_if_any(f.out + ".1").find('\0') == std::string::npos);
}
