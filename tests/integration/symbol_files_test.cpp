// Issue 12: `-k` (and --kallsyms, --modules) pointed at a file that is not one, a secret among
// them. Nothing of such a file may reach the log, standard error or a test's output: every
// check below looks for the secret and never prints what klogd wrote.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "daemon_harness.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using klog_test::data_path;
using klog_test::eventually;
using klog_test::file_lines;
using klog_test::kmsg_record;
using klog_test::read_if_any;

namespace {

constexpr auto secret_mark = "S3CR3TH4SH";

/// A 0600 file shaped like /etc/shadow.
std::string write_secret(const klog_test::temp_dir& dir, const std::string& name,
                         const std::string& before = {}) {
    const auto path = dir.file(name);
    klog_test::write_file(path, before +
                                    "root:$6$Zm9vYmFy$S3CR3TH4SHS3CR3TH4SH:19000:0:99999:7:::\n"
                                    "daemon:*:19000:0:99999:7:::\n");
    REQUIRE(::chmod(path.c_str(), 0600) == 0);
    return path;
}

bool leaks(const std::string& text) { return text.find(secret_mark) != std::string::npos; }

}  // namespace

TEST_CASE("a System.map (-k) with secret lines: the log and -d name line numbers only",
          "[integration][symbols][hostile]") {
    klog_test::temp_dir dir;
    const auto map =
        write_secret(dir, "System.map", "ffffffff81000000 T _text\nffffffff81000100 T f\n");
    klog_test::kmsg_standin kmsg(dir.file("kmsg.sock"));
    const auto out = dir.file("kern.log");
    const auto err = dir.file("stderr.log");
    klog_test::background_klogd klogd(
        {"-n", "-d", "--source=kmsg:" + kmsg.path(), "-f", out, "--format=raw",
         "--pidfile=" + dir.file("p.pid"), "-k", map, "--kallsyms=" + data_path("symbols/kallsyms"),
         "--modules=" + data_path("symbols/proc-modules")},
        err);
    REQUIRE(kmsg.accept(10s));
    kmsg.send(kmsg_record(6, 1, 1, "after the tables were read"));
    REQUIRE(eventually(
        [&] { return read_if_any(out).find("after the tables were read") != std::string::npos; }));
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    const auto log = read_if_any(out);
    const auto diag = read_if_any(err);
    CHECK_FALSE(leaks(log));
    CHECK_FALSE(leaks(diag));
    CHECK(log.find("root:") == std::string::npos);
    CHECK(log.find(map + ":3: malformed symbol line") != std::string::npos);
    CHECK(log.find(map + ":4: malformed symbol line") != std::string::npos);
}

TEST_CASE("symbol files (-k, --kallsyms, --modules) that are no such table: exit 2 at start",
          "[integration][symbols][hostile]") {
    klog_test::temp_dir dir;
    const auto secret = write_secret(dir, "shadow");
    struct bad_case {
        std::string option;
        std::string path;
        std::string says;
    };
    const std::vector<bad_case> cases = {
        {"-k", secret, "not a System.map"},
        {"-k", "/etc/passwd", "not a System.map"},
        {"-k", "/dev/null", "not a regular file"},
        {"--kallsyms=", secret, "not a kallsyms file"},
        {"--modules=", secret, "not a modules file"},
        {"--modules=", data_path("symbols/System.map-6.1.0-56-amd64"), "not a modules file"},
    };
    for (const auto& c : cases) {
        for (const bool check_only : {false, true}) {
            std::vector<std::string> args = {"-o", "-x",
                                             "--source=" + data_path("corpus/kmsg.records"), "-f",
                                             dir.file("out.log")};
            if (c.option == "-k") {
                args.insert(args.end(), {"-k", c.path});
            } else {
                args.push_back(c.option + c.path);
            }
            if (check_only) args.push_back("--check-config");
            const auto r = klog_test::run_klogd(args);
            INFO(c.option << " " << c.path << (check_only ? " --check-config" : ""));
            CHECK(r.exit_code == 2);
            CHECK(r.err.find(c.path + ": " + c.says) != std::string::npos);
            CHECK(r.err.rfind("klogd: ", 0) == 0);
            CHECK_FALSE(leaks(r.err));
            CHECK(r.err.find("root:") == std::string::npos);
            CHECK(r.out.empty());
        }
    }
    CHECK(::access(dir.file("out.log").c_str(), F_OK) != 0);  // refused before anything ran
    // The real tables pass.
    const auto ok = klog_test::run_klogd({"--check-config", "-k",
                                          data_path("symbols/System.map-6.1.0-56-amd64"),
                                          "--kallsyms=" + data_path("symbols/kallsyms"),
                                          "--modules=" + data_path("symbols/proc-modules")});
    CHECK(ok.exit_code == 0);
}
