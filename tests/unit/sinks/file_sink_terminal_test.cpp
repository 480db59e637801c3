// Issue 19: a file output tells its formatter factory, once, whether it writes to a terminal
// (what `--color=auto` needs); a regular file and a pipe are not terminals.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "klog/formatters/raw_formatter.hpp"
#include "klog/sinks/file_sink.hpp"
#include "test_support.hpp"

using klog::sinks::file_sink;

namespace {

/// Opens `path` as a file_sink and returns what the factory was told.
std::optional<bool> terminal_seen(const std::string& path) {
    std::optional<bool> seen;
    int calls = 0;
    file_sink sink(
        path,
        [&](bool terminal) {
            seen = terminal;
            ++calls;
            return std::make_unique<klog::formatters::raw_formatter>();
        },
        file_sink::settings{});
    sink.reopen();  // decided once: a reopen keeps the formatter
    CHECK(calls == 1);
    return seen;
}

}  // namespace

TEST_CASE("file_sink: the formatter factory learns whether the output is a terminal",
          "[sinks][file][color]") {
    klog_test::temp_dir dir;
    CHECK(terminal_seen(dir.file("out.log")) == false);

    const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    REQUIRE(master >= 0);
    REQUIRE(::grantpt(master) == 0);
    REQUIRE(::unlockpt(master) == 0);
    const std::string slave = ::ptsname(master);
    CHECK(terminal_seen(slave) == true);
    ::close(master);
}
