#include "klogd/config.hpp"

#include <boost/asio/ip/address.hpp>

#include "klog/metrics/rule_set.hpp"

#include "klogd/config_checks.hpp"
#include "klogd/outputs.hpp"

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
    fail("--min-level " + s,
         "must be 0-7 or one of emerg alert crit err warning notice info debug");
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
    check_output_path("--pidfile", c.pidfile);
    c.state_file = opts.state_file.value_or("/var/lib/klogd/state");
    if (opts.user) {
        // Before anything is created: a bad --user is a configuration error, not a runtime one.
        const auto ids = check_user("--user", *opts.user);
        c.user = opts.user;
        c.user_id = ids->uid;
        c.group_id = ids->gid;
    }
    if (opts.spool_max) (void)parse_spool_max(*opts.spool_max);  // checked with or without tcp

    if (opts.console_level) {
        const auto n = parse_int(*opts.console_level);
        if (!n || *n < 1 || *n > 8)
            fail("-c " + *opts.console_level, "console level must be 1 to 8");
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

    if (opts.state_file == "none") {
        c.state_file.clear();  // no cursor: every start reads the whole ring
    } else if (opts.state_file) {
        // Its directory may be made by klogd (and given to --user).
        const std::filesystem::path state(*opts.state_file);
        if (state.has_parent_path() && !std::filesystem::is_directory(state.parent_path())) {
            check_directory_creatable("--state-file " + *opts.state_file,
                                      state.parent_path().string());
        } else {
            check_output_path("--state-file", *opts.state_file);
        }
    }
    if (opts.flush_timeout) {
        const auto n = parse_int(*opts.flush_timeout);
        if (!n || *n < 1 || *n > 86400) {
            fail("--flush-timeout " + *opts.flush_timeout, "must be 1 to 86400 seconds");
        }
        c.flush_timeout = std::chrono::seconds(*n);
    }
    if (opts.file) {
        check_output_path("-f", *opts.file);
        output_spec out;
        out.type = output_spec::kind::file;
        out.path = *opts.file;
        out.key = "file:" + out.path;
        c.outputs.push_back(std::move(out));
    }
    // One file named twice (also under two spellings of its path) would be written twice and
    // cut by one output's cursor after the other's writes.
    const auto same_file = [](const output_spec& a, const output_spec& b) {
        if (a.type != output_spec::kind::file || b.type != output_spec::kind::file) return false;
        if (a.path == "-" || b.path == "-") return a.path == b.path;
        std::error_code ec1, ec2;
        const auto pa = std::filesystem::weakly_canonical(a.path, ec1);
        const auto pb = std::filesystem::weakly_canonical(b.path, ec2);
        return !ec1 && !ec2 && pa == pb;
    };
    for (const auto& spec : opts.outputs) {
        auto out = parse_output(spec, opts, c);
        for (const auto& earlier : c.outputs) {
            if (earlier.key == out.key) fail("--output " + spec, "names " + out.key + " twice");
            if (same_file(earlier, out)) {
                fail("--output " + spec, "the same file as " + earlier.key);
            }
        }
        c.outputs.push_back(std::move(out));
    }

    if (opts.format) {
        const auto kind = klog::formatters::parse_format_kind(*opts.format);
        if (!kind)
            fail("--format " + *opts.format,
                 "unknown format (" + std::string(klog::formatters::format_kind_names()) + ")");
        c.format = *kind;
    }
    if (opts.color) {
        const auto mode = klog::formatters::parse_color_mode(*opts.color);
        if (!mode) fail("--color " + *opts.color, "must be auto, always or never");
        c.color = *mode;
    }
    if (opts.system_map) {
        check_readable("-k", *opts.system_map);
        c.system_map = opts.system_map;
    }
    for (const auto& [option, path] :
         {std::pair{"--kallsyms", opts.kallsyms}, std::pair{"--modules", opts.modules}}) {
        if (path) check_readable(option, *path);
    }
    if (opts.incident_dir) {
        if (opts.incident_dir->empty()) fail("--incident-dir", "empty value");
        check_directory_creatable("--incident-dir", *opts.incident_dir);
        c.incident_dir = opts.incident_dir;
    }
    if (opts.pstore) {
        if (*opts.pstore == "none") {
            c.pstore_dir.clear();
        } else if (opts.pstore->empty()) {
            fail("--pstore", "empty value (a directory, or none)");
        } else {
            c.pstore_dir = *opts.pstore;
        }
    }
    if (opts.metrics) {
        std::string_view v = *opts.metrics;
        std::string address = "127.0.0.1";
        const auto colon = v.rfind(':');
        if (colon != std::string_view::npos) {
            auto host = v.substr(0, colon);
            if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
                host = host.substr(1, host.size() - 2);
            }
            if (!host.empty()) address = std::string(host);
            v = v.substr(colon + 1);
        }
        const auto port = parse_int(std::string(v));
        if (!port || *port < 1 || *port > 65535) {
            fail("--metrics " + *opts.metrics, "expected [ADDR:]PORT with PORT 1 to 65535");
        }
        boost::system::error_code ec;
        (void)boost::asio::ip::make_address(address, ec);
        if (ec) fail("--metrics " + *opts.metrics, "ADDR must be an IPv4 or IPv6 address");
        c.metrics_address = address;
        c.metrics_port = static_cast<std::uint16_t>(*port);
    }
    if (opts.metrics_file) {
        check_output_path("--metrics-file", *opts.metrics_file);
        if (*opts.metrics_file == "-") fail("--metrics-file -", "must be a file");
        c.metrics_file = opts.metrics_file;
    }
    if (opts.metrics_interval) {
        const auto n = parse_int(*opts.metrics_interval);
        if (!n || *n < 1 || *n > 86400) {
            fail("--metrics-interval " + *opts.metrics_interval, "must be 1 to 86400 seconds");
        }
        c.metrics_interval = std::chrono::seconds(*n);
    }
    if (opts.rules) {
        try {
            (void)klog::metrics::rule_set::load(*opts.rules);
        } catch (const klog::metrics::rule_error& e) {
            throw usage_error(std::string("--rules ") + e.what());
        }
        c.rules_file = opts.rules;
    }
    if (opts.signal_reload_modules && opts.signal_reload_all)
        fail("-i", "cannot be combined with -I");
    return c;
}

}  // namespace klogd
