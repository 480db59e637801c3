// The configuration made from the command line (klogd::make_config, a function of the options
// alone), the environment step every start and --check-config run after it
// (klogd::check_environment), and their refusals: one usage_error naming the option and the
// reason.
#include <catch2/catch.hpp>
#include <filesystem>
#include <variant>
#include <string>
#include <vector>

#include "klogd/config.hpp"
#include "klogd/options.hpp"
#include "test_support.hpp"

namespace {

klogd::config pure_config_of(std::vector<std::string> args) {
    args.insert(args.begin(), "klogd");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    return klogd::make_config(klogd::parse_options(static_cast<int>(argv.size()), argv.data()));
}

/// As main does it: the options' config, then the environment step.
klogd::config config_of(std::vector<std::string> args) {
    auto c = pure_config_of(std::move(args));
    klogd::check_environment(c);
    return c;
}

}  // namespace

TEST_CASE("config: the defaults a plain start uses", "[klogd][config]") {
    klog_test::temp_dir dir;
    const auto c = config_of({"--pidfile=" + dir.file("pid")});
    CHECK(c.source == klogd::source_kind::automatic);
    CHECK(c.outputs.empty());  // local syslog, decided at start (is /dev/log there?)
    CHECK(c.state_file == "/var/lib/klogd/state");
    CHECK(c.pstore_dir == "/sys/fs/pstore");
    CHECK(c.format == klog::formatters::format_kind::traditional);
    CHECK_FALSE(c.one_shot);
    CHECK_FALSE(c.foreground);
    CHECK_FALSE(c.console_level);
}

TEST_CASE("config: outputs keep their order, get their keys and their defaults",
          "[klogd][config]") {
    klog_test::temp_dir dir;
    const auto c = config_of({"--pidfile=" + dir.file("pid"), "--state-file=none",
                              "--output=file:" + dir.file("k.log"), "--output=journal",
                              "--output=journal:/run/j.sock", "--output=udp://[::1]",
                              "--output=tcp://127.0.0.1:6000?full=drop"});
    REQUIRE(c.outputs.size() == 5);
    CHECK(c.outputs[0].type == klogd::output_spec::kind::file);
    CHECK(c.outputs[0].key == "file:" + dir.file("k.log"));
    CHECK(c.outputs[1].type == klogd::output_spec::kind::journal);
    using socket = klog::sinks::syslog_sink::settings;
    using udp = klog::sinks::udp_sink::settings;
    using stream = klog::sinks::stream_sink::settings;
    CHECK(std::get<klogd::file_output>(c.outputs[0].settings).path == dir.file("k.log"));
    CHECK(std::get<socket>(c.outputs[1].settings).path == "/run/systemd/journal/socket");
    CHECK(c.outputs[1].key == "journal:/run/systemd/journal/socket");
    CHECK(std::get<socket>(c.outputs[2].settings).path == "/run/j.sock");
    CHECK(c.outputs[3].type == klogd::output_spec::kind::udp);
    CHECK(std::get<udp>(c.outputs[3].settings).endpoint.host == "::1");
    CHECK(std::get<udp>(c.outputs[3].settings).endpoint.port == 514);
    CHECK(c.outputs[3].mode == klog::sinks::when_full::drop);  // udp drops by default
    const auto& tcp = std::get<stream>(c.outputs[4].settings);
    CHECK(tcp.endpoint.port == 6000);
    CHECK_FALSE(tcp.tls);
    CHECK_FALSE(tcp.relp);
    CHECK(tcp.spool_max == klogd::defaults::spool_max);
    CHECK_FALSE(tcp.spool_dir);  // no state file: no spool
    CHECK(c.outputs[4].mode == klog::sinks::when_full::drop);
    CHECK(c.state_file.empty());
    const auto s = config_of({"--pidfile=" + dir.file("pid"), "--output=syslog"});
    CHECK(std::get<klog::sinks::syslog_sink::settings>(s.outputs.at(0).settings).path == "/dev/log");
    CHECK(s.outputs.at(0).key == "syslog:/dev/log");
}

TEST_CASE("config: a stream output's settings are the stream sink's, filled in from the shared options",
          "[klogd][config]") {
    const auto c = pure_config_of({"--output=relps://127.0.0.1:2600", "--output=tcp://[::1]",
                                   "--relp-window=7", "--relp-timeout=9", "--framing=lf",
                                   "--spool-dir=/var/spool/k", "--spool-max=8K",
                                   "--tls-ca=/etc/k/ca.pem", "--tls-cert=/etc/k/c.pem",
                                   "--tls-key=/etc/k/c.key"});
    REQUIRE(c.outputs.size() == 2);
    const auto& relps = std::get<klog::sinks::stream_sink::settings>(c.outputs[0].settings);
    CHECK(relps.tls);
    CHECK(relps.relp);
    CHECK(relps.endpoint.port == 2600);
    CHECK(relps.relp_window == 7);
    CHECK(relps.answer_timeout == std::chrono::seconds(9));
    CHECK(relps.framing == klog::sinks::framing::lf);
    CHECK(relps.spool_max == 8192);
    CHECK(relps.spool_dir == "/var/spool/k/relps-127.0.0.1-2600");
    CHECK(relps.tls_ca == "/etc/k/ca.pem");
    CHECK(relps.tls_cert == "/etc/k/c.pem");
    CHECK(relps.tls_key == "/etc/k/c.key");
    const auto& tcp = std::get<klog::sinks::stream_sink::settings>(c.outputs[1].settings);
    CHECK_FALSE(tcp.tls);
    CHECK_FALSE(tcp.relp);
    CHECK(tcp.endpoint.port == 514);
    CHECK(tcp.relp_window == klogd::defaults::relp_window);  // RELP options are RELP's only
    CHECK_FALSE(tcp.tls_ca);
    CHECK(tcp.spool_dir == "/var/spool/k/tcp-__1-514");
    CHECK(c.spool_dir == "/var/spool/k");
}

TEST_CASE("config: bad values are refused with the option and the reason", "[klogd][config]") {
    klog_test::temp_dir dir;
    const auto pid = "--pidfile=" + dir.file("pid");
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{pid, "--output=journal:"}, "--output journal:: empty socket path"},
        {{pid, "--output=journalx"}, "--output journalx: unknown output"},
        {{pid, "--output=syslog:" + std::string(120, 's')}, "socket path too long"},
        {{pid, "--output=nosuch://x"}, "unknown output (expected syslog[:SOCKET], journal[:SOCKET]"},
        {{pid, "--format=xml"}, "--format xml: unknown format (traditional, raw, json, rfc3164, rfc5424)"},
        {{pid, "--output=file:" + dir.path()}, "is a directory"},
        {{pid, "--output=file:" + dir.file("a"), "--output=file:" + dir.file("a")}, "twice"},
    };
    for (const auto& [args, expected] : cases) {
        INFO(args.back());
        CHECK_THROWS_AS(config_of(args), klogd::usage_error);
        CHECK_THROWS_WITH(config_of(args), Catch::Matchers::Contains(expected));
    }
}

TEST_CASE("config: made from the options alone, the files and directories checked in a step of their own",
          "[klogd][config]") {
    klog_test::temp_dir dir;
    const std::string missing = dir.file("no-such-dir");
    // Everything here names something that is not there; the options themselves are sound.
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"--pidfile=" + missing + "/pid", "--pidfile " + missing + "/pid: directory " + missing},
        {"-f" + missing + "/kern.log", "-f " + missing + "/kern.log: directory " + missing},
        {"--output=file:" + missing + "/k.log", "--output file:" + missing + "/k.log"},
        {"--source=" + missing + "/saved.kmsg", "--source " + missing + "/saved.kmsg: No such file"},
        {"-k" + missing + "/System.map", "-k " + missing + "/System.map: No such file"},
        {"--kallsyms=" + missing + "/kallsyms", "--kallsyms " + missing + "/kallsyms: No such file"},
        {"--incident-dir=" + missing + "/a/b", "--incident-dir " + missing + "/a/b: not a directory"},
        {"--metrics-file=" + missing + "/m.prom", "--metrics-file " + missing + "/m.prom: directory"},
        {"--rules=" + missing + "/rules", "--rules"},
        {"--user=klogd-no-such-user", "--user klogd-no-such-user: no such user"},
        {"--state-file=" + missing + "/a/state", "--state-file " + missing + "/a/state"},
    };
    for (const auto& [arg, expected] : cases) {
        INFO(arg);
        std::vector<std::string> args{arg};
        if (!arg.starts_with("--pidfile")) args.push_back("--pidfile=" + dir.file("pid"));
        auto c = pure_config_of(args);  // no throw: nothing was looked at
        CHECK_THROWS_AS(klogd::check_environment(c), klogd::usage_error);
        CHECK_THROWS_WITH(klogd::check_environment(c), Catch::Matchers::Contains(expected));
    }
    // Two spellings of one file: refused by the environment step, which resolves them.
    auto twice = pure_config_of({"--pidfile=" + dir.file("pid"), "--output=file:" + dir.file("k"),
                                 "--output=file:" + dir.path() + "/./k"});
    CHECK_THROWS_WITH(klogd::check_environment(twice), Catch::Matchers::Contains("the same file as file:"));
    // The --user's ids are the environment step's to fill in.
    auto root = pure_config_of({"--pidfile=" + dir.file("pid"), "--user=root"});
    CHECK_FALSE(root.user_id);
    klogd::check_environment(root);
    CHECK(root.user_id == 0U);
    CHECK(root.group_id == 0U);
}

TEST_CASE("config: empty values refused as they always were", "[klogd][config]") {
    klog_test::temp_dir dir;
    const auto pid = "--pidfile=" + dir.file("pid");
    // An empty --spool-dir matters only to an output that spools (review: it was refused with
    // no network output at all).
    const auto c = config_of({pid, "-f", dir.file("k.log"), "--spool-dir", ""});
    CHECK_FALSE(c.spool_dir);
    CHECK_THROWS_WITH(config_of({pid, "--output=tcp://127.0.0.1", "--spool-dir", ""}),
                      Catch::Matchers::Contains("--spool-dir: empty path"));
    // An empty --user is no user; an empty --rules no file (the environment step says so).
    CHECK_NOTHROW(pure_config_of({pid, "--user", ""}));
    CHECK_THROWS_WITH(config_of({pid, "--user", ""}), Catch::Matchers::Contains("--user : no such user"));
    CHECK_NOTHROW(pure_config_of({pid, "--rules", ""}));
    CHECK_THROWS_WITH(config_of({pid, "--rules", ""}), Catch::Matchers::StartsWith("--rules "));
}

// A detaching daemon changes to /: the environment step makes every path absolute first, in
// every mode alike (a -n run and a daemon name a spool the same way in the state file), without
// normalising (`link/..` is not `.`), and `-` stays standard input or output only where it is.
TEST_CASE("config: relative paths are taken from the start directory in every mode",
          "[klogd][config]") {
    klog_test::temp_dir dir;
    klog_test::write_file(dir.file("saved.log"), "<6>[    1.000000] x\n");
    const auto before = std::filesystem::current_path();
    std::filesystem::current_path(dir.path());
    const std::string here = dir.path();
    for (const bool foreground : {true, false}) {
        INFO(foreground);
        std::vector<std::string> args{"--source=saved.log",       "-f", "kern.log",
                                      "--output=tcp://127.0.0.1:9", "--spool-dir=spool",
                                      "--state-file=state",         "--pidfile=-",
                                      "--incident-dir=./inc"};
        if (foreground) args.push_back("-n");
        const auto c = config_of(args);
        CHECK(c.replay_path == here + "/saved.log");
        CHECK(std::get<klogd::file_output>(c.outputs[0].settings).path == here + "/kern.log");
        CHECK(c.outputs[0].key == "file:kern.log");  // the state file's name for it: as given
        const auto& tcp = std::get<klog::sinks::stream_sink::settings>(c.outputs[1].settings);
        REQUIRE(tcp.spool_dir);
        CHECK(tcp.spool_dir->starts_with(here + "/spool/"));
        CHECK(c.state_file == here + "/state");
        CHECK(c.pidfile == here + "/-");  // a name here, not a stream
        CHECK(c.incident_dir == here + "/./inc");
    }
    const auto out = config_of({"-n", "-f", "-", "--source=-"});
    CHECK(std::get<klogd::file_output>(out.outputs[0].settings).path == "-");
    CHECK(out.replay_path == "-");
    std::filesystem::current_path(before);
}
