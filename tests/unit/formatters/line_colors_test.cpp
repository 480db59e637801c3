// Issue 19: `--color` golden bytes. Colours go around text the escaper already made safe, the
// prefix is dimmed, and every line ends in the terminal's normal rendition.
#include "klog/formatters/line_colors.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "formatter_fixtures.hpp"
#include "klog/formatters/color_mode.hpp"
#include "klog/formatters/format_kind.hpp"
#include "klog/formatters/raw_formatter.hpp"
#include "klog/formatters/rfc3164_formatter.hpp"
#include "klog/formatters/traditional_formatter.hpp"

using namespace klog::formatters;
using namespace klog::formatters::test;

namespace {

format_options colored() {
    format_options o{"myhost", "b00t"};
    o.color = true;
    return o;
}

const std::string dim = "\x1b[2m";
const std::string reset = "\x1b[0m";
const std::string tprefix = dim + "Nov  4 05:31:02 myhost kernel: [    4.836489] " + reset;

/// Each line's last escape sequence is the reset: nothing opened on a line outlives its '\n'.
void check_closed_lines(const std::string& out) {
    std::size_t start = 0;
    while (start < out.size()) {
        const auto nl = out.find('\n', start);
        REQUIRE(nl != std::string::npos);
        const std::string line = out.substr(start, nl - start);
        INFO(line);
        const auto last_esc = line.rfind('\x1b');
        if (last_esc != std::string::npos) CHECK(line.compare(last_esc, reset.size(), reset) == 0);
        start = nl + 1;
    }
}

}  // namespace

TEST_CASE("color: the scheme per level", "[formatters][color]") {
    CHECK(line_colors::level(0) == "\x1b[1;37;41m");
    CHECK(line_colors::level(1) == "\x1b[1;37;41m");
    CHECK(line_colors::level(2) == "\x1b[1;31m");
    CHECK(line_colors::level(3) == "\x1b[31m");
    CHECK(line_colors::level(4) == "\x1b[1;33m");
    CHECK(line_colors::level(5) == "\x1b[1m");
    CHECK(line_colors::level(6).empty());
    CHECK(line_colors::level(7).empty());
    CHECK(line_colors::prefix == "\x1b[2m");
    CHECK(line_colors::own == "\x1b[1;35m");
    CHECK(line_colors::own_info == "\x1b[35m");
    for (std::uint8_t level = 0; level < 8; ++level) {
        CHECK(line_colors::own_level(level) == (level <= 4 ? "\x1b[1;35m" : "\x1b[35m"));
    }
    CHECK(line_colors::reset == "\x1b[0m");
}

TEST_CASE("color: traditional golden bytes for every level", "[formatters][color]") {
    use_utc();
    const traditional_formatter f(colored());
    const char* const expected[8] = {
        "\x1b[1;37;41mtext\x1b[0m\n",  // emerg
        "\x1b[1;37;41mtext\x1b[0m\n",  // alert
        "\x1b[1;31mtext\x1b[0m\n",     // crit
        "\x1b[31mtext\x1b[0m\n",       // err
        "\x1b[1;33mtext\x1b[0m\n",     // warning
        "\x1b[1mtext\x1b[0m\n",        // notice
        "text\n",                      // info
        "text\n",                      // debug
    };
    for (std::uint8_t level = 0; level < 8; ++level) {
        auto r = kernel_record("text");
        r.level = level;
        INFO("level " << int(level));
        CHECK(format_with(f, r) == tprefix + expected[level]);
    }
}

TEST_CASE("color: raw and rfc3164 golden bytes", "[formatters][color]") {
    use_utc();
    auto r = kernel_record("usb 1-1: reset");
    r.level = 3;
    CHECK(format_with(raw_formatter(colored()), r) ==
          "\x1b[2m<3>[    4.836489] \x1b[0m\x1b[31musb 1-1: reset\x1b[0m\n");
    CHECK(format_with(rfc3164_formatter(colored()), r) ==
          "\x1b[2m<3>Nov  4 05:31:02 myhost kernel: [    4.836489] \x1b[0m"
          "\x1b[31musb 1-1: reset\x1b[0m\n");
    r.level = 6;
    CHECK(format_with(raw_formatter(colored()), r) ==
          "\x1b[2m<6>[    4.836489] \x1b[0musb 1-1: reset\n");
    // Userspace records: the tag is part of the dimmed prefix.
    auto u = kernel_record("myapp[42]: hello");
    u.facility = 1;
    u.level = 4;
    CHECK(format_with(traditional_formatter(colored()), u) ==
          "\x1b[2mNov  4 05:31:02 myhost myapp[42]: \x1b[0m\x1b[1;33mhello\x1b[0m\n");
}

TEST_CASE("color: klogd's own notices stand out in every line format", "[formatters][color]") {
    use_utc();
    const auto notice = klog::own_notice("klogd: missed 3 kernel messages (seq 4..6)");
    CHECK(format_with(traditional_formatter(colored()), notice) ==
          "\x1b[2mNov  4 05:31:02 myhost klogd: \x1b[0m"
          "\x1b[1;35mmissed 3 kernel messages (seq 4..6)\x1b[0m\n");
    CHECK(format_with(rfc3164_formatter(colored()), notice) ==
          "\x1b[2m<4>Nov  4 05:31:02 myhost klogd: \x1b[0m"
          "\x1b[1;35mmissed 3 kernel messages (seq 4..6)\x1b[0m\n");
    CHECK(format_with(raw_formatter(colored()), notice) ==
          "\x1b[2m<4,klogd>\x1b[0m\x1b[1;35mklogd: missed 3 kernel messages (seq 4..6)\x1b[0m\n");
    // Whatever its level the colour is klogd's, not the level's: bold from warning up,
    // plain magenta for what it only informs about.
    const auto crit = klog::own_notice("klogd: incident", 2);
    CHECK(format_with(raw_formatter(colored()), crit) ==
          "\x1b[2m<2,klogd>\x1b[0m\x1b[1;35mklogd: incident\x1b[0m\n");
    const auto info = klog::own_notice("klogd: kernel symbols from /proc/kallsyms", 6);
    CHECK(format_with(traditional_formatter(colored()), info) ==
          "\x1b[2mNov  4 05:31:02 myhost klogd: \x1b[0m"
          "\x1b[35mkernel symbols from /proc/kallsyms\x1b[0m\n");
    // A writer of /dev/kmsg saying the same words gets its level's colour and the kmsg: tag.
    auto fake = kernel_record("klogd: missed 3 kernel messages (seq 4..6)");
    fake.facility = 1;
    fake.level = 4;
    CHECK(format_with(traditional_formatter(colored()), fake) ==
          "\x1b[2mNov  4 05:31:02 myhost kmsg: \x1b[0m"
          "\x1b[1;33mklogd: missed 3 kernel messages (seq 4..6)\x1b[0m\n");
}

TEST_CASE("color: each text line of a record is coloured and reset on its own",
          "[formatters][color]") {
    use_utc();
    auto r = kernel_record("first\nsecond\n");
    r.level = 2;
    const auto crit = tprefix + "\x1b[1;31m";
    const auto out = format_with(traditional_formatter(colored()), r);
    CHECK(out == crit + "first\x1b[0m\n" + crit + "second\x1b[0m\n" + crit + "\x1b[0m\n");
    check_closed_lines(out);
}

TEST_CASE("color: kernel text holding ESC stays escaped inside the colours",
          "[formatters][color]") {
    use_utc();
    // The kernel's ESC, CSI (C1), a forged reset and its own `\x1b` characters.
    auto r = kernel_record(
        "a \x1b[0m b \xc2\x9b"
        "31m c \\x1b d\r");
    r.level = 3;
    const auto out = format_with(traditional_formatter(colored()), r);
    CHECK(out == tprefix + "\x1b[31ma \\x1b[0m b \\xc2\\x9b31m c \\x5cx1b d\\x0d\x1b[0m\n");
    check_closed_lines(out);
    for (const auto& f : {make_formatter(format_kind::raw, colored()),
                          make_formatter(format_kind::rfc3164, colored())}) {
        const auto line = format_with(*f, r);
        CHECK(line.find("a \\x1b[0m b \\xc2\\x9b31m c \\x5cx1b d\\x0d") != std::string::npos);
        // Exactly the colour sequences: dim, reset, red, reset.
        std::size_t escs = 0;
        for (const char c : line) escs += c == '\x1b' ? 1 : 0;
        CHECK(escs == 4);
        check_closed_lines(line);
    }
}

TEST_CASE("color: json and rfc5424 are never coloured", "[formatters][color]") {
    use_utc();
    format_options plain{"myhost", "b00t"};
    plain.line_mode = true;
    auto with_color = plain;
    with_color.color = true;
    auto r = kernel_record("boom");
    r.level = 0;
    for (const auto kind : {format_kind::json, format_kind::rfc5424}) {
        INFO("format kind " << static_cast<int>(kind));
        CHECK(format_with(*make_formatter(kind, with_color), r) ==
              format_with(*make_formatter(kind, plain), r));
    }
    // And off means off for the line formats.
    for (const auto kind : {format_kind::traditional, format_kind::raw, format_kind::rfc3164}) {
        CHECK(format_with(*make_formatter(kind, plain), r).find('\x1b') == std::string::npos);
    }
}

TEST_CASE("color: --color names and when auto colours", "[formatters][color]") {
    CHECK(parse_color_mode("auto") == color_mode::automatic);
    CHECK(parse_color_mode("always") == color_mode::always);
    CHECK(parse_color_mode("never") == color_mode::never);
    CHECK_FALSE(parse_color_mode("yes"));
    CHECK_FALSE(parse_color_mode("Auto"));
    CHECK_FALSE(parse_color_mode(""));
    // always / never ignore the rest.
    CHECK(color_wanted(color_mode::always, false, nullptr, "1"));
    CHECK_FALSE(color_wanted(color_mode::never, true, "xterm", nullptr));
    // auto: a terminal, TERM set and not dumb, NO_COLOR unset (or empty, as no-color.org says).
    CHECK(color_wanted(color_mode::automatic, true, "xterm-256color", nullptr));
    CHECK(color_wanted(color_mode::automatic, true, "linux", ""));
    CHECK_FALSE(color_wanted(color_mode::automatic, false, "xterm", nullptr));
    CHECK_FALSE(color_wanted(color_mode::automatic, true, "dumb", nullptr));
    CHECK_FALSE(color_wanted(color_mode::automatic, true, "", nullptr));
    CHECK_FALSE(color_wanted(color_mode::automatic, true, nullptr, nullptr));
    CHECK_FALSE(color_wanted(color_mode::automatic, true, "xterm", "1"));
}
