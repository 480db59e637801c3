// Command-line errors: one clear line naming the option and the reason, exit 2, nothing started.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "test_support.hpp"

TEST_CASE("bad values are refused with exit 2 and a line naming the option",
          "[integration][options]") {
    klog_test::temp_dir dir;
    struct bad_case {
        std::vector<std::string> args;
        std::string says;
    };
    const std::vector<bad_case> cases = {
        {{"-c", "9"}, "-c 9: console level must be 1 to 8"},
        {{"-c", "0"}, "-c 0: console level must be 1 to 8"},
        {{"-c", "x"}, "-c x: console level must be 1 to 8"},
        {{"--bogus"}, "unrecognised option '--bogus'"},
        {{"-f", dir.file("missing/kern.log")}, "-f " + dir.file("missing/kern.log")},
        {{"-f", dir.path()}, "is a directory"},
        {{"-k", dir.file("no-System.map")}, "-k " + dir.file("no-System.map")},
        {{"--format=xml"}, "--format xml: unknown format"},
        {{"--output=ftp://x"}, "--output ftp://x: unknown output"},
        {{"--min-level=loud"}, "--min-level loud"},
        {{"--source=" + dir.file("nothing.log")}, "--source " + dir.file("nothing.log")},
        {{"-s", "--source=kmsg"}, "-s: conflicts with --source=kmsg"},
        {{"-i", "-I"}, "-i: cannot be combined with -I"},
        {{"-f"}, "-f"},
    };
    for (const auto& c : cases) {
        auto args = c.args;
        args.push_back("-o");
        const auto r = klog_test::run_klogd(args);
        INFO("args: " << c.args.front() << " stderr: " << r.err);
        CHECK(r.exit_code == 2);
        CHECK(r.err.find(c.says) != std::string::npos);
        CHECK(r.out.empty());
    }
}

TEST_CASE("klogd --check-config checks and exits", "[integration][options]") {
    klog_test::temp_dir dir;
    const auto ok = klog_test::run_klogd({"--check-config", "-f", dir.file("k.log")});
    CHECK(ok.exit_code == 0);
    CHECK(::access(dir.file("k.log").c_str(), F_OK) != 0);  // nothing was started or created
    // What `make run` passes.
    const auto run = klog_test::run_klogd(
        {"--check-config", "-n", "-f", "-", "--pidfile=" + dir.file("p"), "--state-file=none"});
    CHECK(run.exit_code == 0);
    const auto bad = klog_test::run_klogd({"--check-config", "-c", "12"});
    CHECK(bad.exit_code == 2);
}

TEST_CASE("klogd -v and --help", "[integration][options]") {
    const auto v = klog_test::run_klogd({"-v"});
    CHECK(v.exit_code == 0);
    CHECK(v.out.rfind("klogd ", 0) == 0);
    const auto h = klog_test::run_klogd({"--help"});
    CHECK(h.exit_code == 0);
    for (const char* sw : {"-c N",     "-d",          "-f FILE",
                           "-i",       "-I",          "-k FILE",
                           "-n",       "-o",          "-p",
                           "-s",       "-v",          "-x",
                           "-2",       "--source",    "--output",
                           "--format", "--pidfile",   "--state-file",
                           "--user",   "--min-level", "--check-config",
                           "--help"}) {
        INFO(sw);
        CHECK(h.out.find(sw) != std::string::npos);
    }
}

TEST_CASE("every file and directory an option names is checked at start and by --check-config",
          "[integration][options][hostile]") {
    klog_test::temp_dir dir;
    const auto link = dir.file("kern-link.log");
    REQUIRE(::symlink(dir.file("elsewhere.log").c_str(), link.c_str()) == 0);
    const auto pidfile = "--pidfile=" + dir.file("klogd.pid");
    struct bad_case {
        std::vector<std::string> args;
        std::string says;
    };
    const std::vector<bad_case> cases = {
        {{"--output=tls://127.0.0.1", "--tls-ca=/etc/passwd"},
         "--tls-ca /etc/passwd: no PEM CA certificate in it"},
        {{"--output=tls://127.0.0.1", "--tls-cert=/etc/passwd", "--tls-key=/etc/passwd"},
         "--tls-cert /etc/passwd: no PEM certificate in it"},
        {{"--output=tcp://127.0.0.1", "--spool-dir=/proc/sys"},
         "--spool-dir /proc/sys: cannot create directories in /proc/sys"},
        {{"--spool-max=-1"}, "--spool-max -1: not a size"},  // even without a tcp output
        {{"--spool-max=1.5M"}, "--spool-max 1.5M"},
        {{"-f", link}, "-f " + link + ": is a symbolic link"},
        {{"--user=nosuch-klogd-user"}, "--user nosuch-klogd-user: no such user"},
        {{"-f", "-", "stray"}, "unexpected argument 'stray'"},
        {{"-f", "a.log", "-f", "b.log"}, "option '-f' cannot be specified more than once"},
        {{"--output=file:-", "--output=file:-"}, "names file:- twice"},
    };
    for (const auto& c : cases) {
        for (const bool check_only : {false, true}) {
            auto args = c.args;
            args.push_back(check_only ? "--check-config" : "-n");
            args.push_back(pidfile);
            args.push_back("--state-file=" + dir.file("state"));
            const auto r = klog_test::run_klogd(args);
            INFO("args: " << c.args.front() << (check_only ? " --check-config" : "")
                          << " stderr: " << r.err);
            CHECK(r.exit_code == 2);
            CHECK(r.err.find(c.says) != std::string::npos);
            // Nothing was created: no pid file left behind, no state, no file through the link.
            CHECK(::access(dir.file("klogd.pid").c_str(), F_OK) != 0);
            CHECK(::access(dir.file("state").c_str(), F_OK) != 0);
            CHECK(::access(dir.file("elsewhere.log").c_str(), F_OK) != 0);
        }
    }
    // No secret is quoted: the TLS files' contents never appear.
    const auto r = klog_test::run_klogd({"--check-config", "--output=tls://127.0.0.1",
                                         "--tls-ca=/etc/passwd"});
    CHECK(r.err.find("root:") == std::string::npos);
}
