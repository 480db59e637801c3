#include "klogd/config.hpp"

#include <boost/asio/ip/address.hpp>

#include "klogd/outputs.hpp"

#include <array>
#include <charconv>

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
    if (c.pidfile.empty()) fail("--pidfile", "empty path");
    c.state_file = opts.state_file.value_or(std::string(defaults::state_file));
    c.user = opts.user;  // looked up by the environment step (an empty one is no user)
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
    }

    if (opts.state_file == "none") {
        c.state_file.clear();  // no cursor: every start reads the whole ring
    } else if (opts.state_file) {
        if (opts.state_file->empty()) fail("--state-file", "empty path");
        c.state_file_given = true;
    }
    // Refused when empty by an output that spools (outputs.cpp), and only there.
    if (opts.spool_dir && !opts.spool_dir->empty() && *opts.spool_dir != "none") {
        c.spool_dir = opts.spool_dir;
    }
    if (opts.flush_timeout) {
        const auto n = parse_int(*opts.flush_timeout);
        if (!n || *n < 1 || *n > 86400) {
            fail("--flush-timeout " + *opts.flush_timeout, "must be 1 to 86400 seconds");
        }
        c.flush_timeout = std::chrono::seconds(*n);
    }
    if (opts.file) {
        if (opts.file->empty()) fail("-f", "empty path");
        output_spec out;
        out.type = output_spec::kind::file;
        out.key = "file:" + *opts.file;
        out.option = "-f";
        out.settings = file_output{*opts.file};
        c.outputs.push_back(std::move(out));
    }
    for (const auto& spec : opts.outputs) {
        auto out = parse_output(spec, opts, c);
        for (const auto& earlier : c.outputs) {
            if (earlier.key == out.key) fail("--output " + spec, "names " + out.key + " twice");
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
    c.system_map = opts.system_map;
    if (opts.incident_dir) {
        if (opts.incident_dir->empty()) fail("--incident-dir", "empty value");
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
        if (opts.metrics_file->empty()) fail("--metrics-file", "empty path");
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
    c.rules_file = opts.rules;  // loaded by the environment step
    if (opts.signal_reload_modules && opts.signal_reload_all)
        fail("-i", "cannot be combined with -I");
    if (!c.foreground && !c.one_shot) {
        // A detached daemon's standard output is /dev/null: every record would vanish there,
        // reported as written (the default output refuses the same, see default_output).
        for (const auto& out : c.outputs) {
            const auto* file = std::get_if<file_output>(&out.settings);
            if (file != nullptr && file->path == "-") {
                fail(out.option == "-f" ? "-f -" : out.option,
                     "standard output is /dev/null once klogd detaches: add -n, or name a file");
            }
        }
    }
    return c;
}

}  // namespace klogd
