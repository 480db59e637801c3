#include "klogd/config.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

namespace klogd {

namespace {

[[noreturn]] void fail(const std::string& option, const std::string& reason) {
    throw usage_error(option + ": " + reason);
}

std::optional<int> parse_int(std::string_view s) {
    int value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return value;
}

std::uint8_t parse_level(const std::string& s) {
    static constexpr std::array<const char*, 8> names = {"emerg",   "alert",  "crit", "err",
                                                          "warning", "notice", "info", "debug"};
    if (const auto n = parse_int(s); n && *n >= 0 && *n <= 7) return static_cast<std::uint8_t>(*n);
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (s == names[i]) return static_cast<std::uint8_t>(i);
    }
    fail("--min-level " + s, "must be 0-7 or one of emerg alert crit err warning notice info debug");
}

/// A file output must be creatable: its directory exists and is a directory.
void check_output_path(const std::string& option, const std::string& path) {
    if (path == "-") return;
    if (path.empty()) fail(option, "empty path");
    const std::filesystem::path p(path);
    const auto dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
        fail(option + " " + path, "directory " + dir.string() + ": " + std::strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) fail(option + " " + path, dir.string() + " is not a directory");
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        fail(option + " " + path, "is a directory");
    }
}

void check_readable(const std::string& option, const std::string& path) {
    if (::access(path.c_str(), R_OK) != 0) fail(option + " " + path, std::strerror(errno));
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        fail(option + " " + path, "is a directory");
    }
}

output_spec parse_output(const std::string& spec) {
    if (spec == "syslog") return {output_spec::kind::syslog, "/dev/log"};
    if (spec.starts_with("file:")) {
        output_spec out{output_spec::kind::file, spec.substr(5)};
        check_output_path("--output " + spec, out.path);
        return out;
    }
    fail("--output " + spec, "unknown output (expected syslog or file:PATH)");
}

}  // namespace

config make_config(const options& opts) {
    config c;
    c.debug = opts.debug;
    c.foreground = opts.foreground;
    c.one_shot = opts.one_shot;
    c.oops_reload = opts.oops_reload;
    c.no_symbols = opts.no_symbols;
    c.print_both = opts.print_both;
    c.kallsyms = opts.kallsyms;
    c.modules = opts.modules;
    c.pidfile = opts.pidfile;
    c.state_file = opts.state_file.value_or("/var/lib/klogd/state");
    c.user = opts.user;

    if (opts.console_level) {
        const auto n = parse_int(*opts.console_level);
        if (!n || *n < 1 || *n > 8) fail("-c " + *opts.console_level, "console level must be 1 to 8");
        c.console_level = *n;
    }
    if (opts.min_level) c.min_level = parse_level(*opts.min_level);

    if (opts.force_syscall) {
        if (opts.source != "auto" && opts.source != "syscall") {
            fail("-s", "conflicts with --source=" + opts.source);
        }
        c.source = source_kind::syscall;
    } else if (opts.source == "auto") {
        c.source = source_kind::automatic;
    } else if (opts.source == "kmsg") {
        c.source = source_kind::kmsg;
    } else if (opts.source == "proc") {
        c.source = source_kind::proc;
    } else if (opts.source == "syscall") {
        c.source = source_kind::syscall;
    } else if (opts.source.starts_with("kmsg:") || opts.source.starts_with("proc:")) {
        c.source = opts.source.starts_with("kmsg:") ? source_kind::kmsg : source_kind::proc;
        c.source_path = opts.source.substr(5);
        if (c.source_path->empty()) fail("--source " + opts.source, "empty path");
        if (!opts.state_file) c.state_file.clear();
    } else if (opts.source.empty()) {
        fail("--source", "empty value");
    } else {
        c.source = source_kind::replay;
        c.replay_path = opts.source;
        if (opts.source != "-") check_readable("--source", opts.source);
    }

    if (opts.state_file) check_output_path("--state-file", *opts.state_file);
    if (opts.file) {
        check_output_path("-f", *opts.file);
        c.outputs.push_back({output_spec::kind::file, *opts.file});
    }
    for (const auto& spec : opts.outputs) c.outputs.push_back(parse_output(spec));

    if (opts.format) {
        const auto kind = klog::formatters::parse_format_kind(*opts.format);
        if (!kind) fail("--format " + *opts.format, "unknown format (traditional, raw, json, rfc3164, rfc5424)");
        c.format = *kind;
    }
    if (opts.system_map) {
        check_readable("-k", *opts.system_map);
        c.system_map = opts.system_map;
    }
    for (const auto& [option, path] : {std::pair{"--kallsyms", opts.kallsyms}, std::pair{"--modules", opts.modules}}) {
        if (path) check_readable(option, *path);
    }
    if (opts.signal_reload_modules && opts.signal_reload_all) fail("-i", "cannot be combined with -I");
    return c;
}

}  // namespace klogd
