// The configuration made from the command line (klogd::make_config), and its refusals: one
// usage_error naming the option and the reason.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "klogd/config.hpp"
#include "klogd/options.hpp"
#include "test_support.hpp"

namespace {

klogd::config config_of(std::vector<std::string> args) {
    args.insert(args.begin(), "klogd");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    return klogd::make_config(klogd::parse_options(static_cast<int>(argv.size()), argv.data()));
}

}  // namespace

TEST_CASE("config: the defaults a plain start uses", "[klogd][config]") {
    klog_test::temp_dir dir;
    const auto c = config_of({"--pidfile=" + dir.file("pid")});
    CHECK(c.source == klogd::source_kind::automatic);
    CHECK(c.outputs.empty());  // local syslog, decided at start (is /dev/log there?)
    CHECK(c.syslog_socket == "/dev/log");
    CHECK(c.journal_socket == "/run/systemd/journal/socket");
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
    CHECK(c.outputs[1].path == "/run/systemd/journal/socket");
    CHECK(c.outputs[1].key == "journal:/run/systemd/journal/socket");
    CHECK(c.outputs[2].path == "/run/j.sock");
    CHECK(c.outputs[3].type == klogd::output_spec::kind::udp);
    CHECK(c.outputs[3].endpoint.host == "::1");
    CHECK(c.outputs[3].endpoint.port == 514);
    CHECK(c.outputs[3].mode == klog::sinks::when_full::drop);  // udp drops by default
    CHECK(c.outputs[4].endpoint.port == 6000);
    CHECK(c.outputs[4].mode == klog::sinks::when_full::drop);
    CHECK(c.state_file.empty());
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
