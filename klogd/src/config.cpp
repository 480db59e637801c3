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
    fail("--min-level " + s,
         "must be 0-7 or one of emerg alert crit err warning notice info debug");
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

/// `--spool-max`: bytes, with an optional K, M or G (binary) suffix; at least 4K.
std::uint64_t parse_size(const std::string& option, const std::string& text) {
    std::uint64_t value = 0;
    const auto* end = text.data() + text.size();
    const auto [stop, ec] = std::from_chars(text.data(), end, value);
    std::string_view suffix(stop, static_cast<std::size_t>(end - stop));
    std::uint64_t scale = 1;
    if (suffix == "K" || suffix == "k") {
        scale = 1ULL << 10;
    } else if (suffix == "M" || suffix == "m") {
        scale = 1ULL << 20;
    } else if (suffix == "G" || suffix == "g") {
        scale = 1ULL << 30;
    } else if (!suffix.empty()) {
        fail(option + " " + text,
             ec == std::errc{} ? "unknown size suffix (K, M or G)" : "not a size");
    }
    if (ec != std::errc{} || stop == text.data()) fail(option + " " + text, "not a size");
    if (value > (std::uint64_t{1} << 50) / scale) fail(option + " " + text, "too large");
    if (value * scale < 4096) fail(option + " " + text, "must be at least 4K");
    return value * scale;
}

/// `syslog[:SOCKET]`, `file:PATH`, `udp://HOST[:PORT]`, `tcp://HOST[:PORT]`,
/// `tls://HOST[:PORT]`; network outputs take the --framing, --tls-*, --spool-* settings.
output_spec parse_output(const std::string& spec, const options& opts) {
    const std::string option = "--output " + spec;
    if (spec == "syslog") return {output_spec::kind::syslog, "/dev/log"};
    if (spec.starts_with("syslog:")) {
        output_spec out{output_spec::kind::syslog, spec.substr(7)};
        if (out.path.empty()) fail(option, "empty socket path");
        if (out.path.size() >= 108) fail(option, "socket path too long");
        return out;
    }
    if (spec.starts_with("file:")) {
        output_spec out{output_spec::kind::file, spec.substr(5)};
        check_output_path(option, out.path);
        return out;
    }
    struct scheme {
        std::string_view prefix;
        output_spec::kind type;
        std::uint16_t port;
    };
    for (const auto& [prefix, type, port] : {scheme{"udp://", output_spec::kind::udp, 514},
                                             scheme{"tcp://", output_spec::kind::tcp, 514},
                                             scheme{"tls://", output_spec::kind::tls, 6514}}) {
        if (!spec.starts_with(prefix)) continue;
        output_spec out;
        out.type = type;
        const auto endpoint = klog::sinks::network_endpoint::parse(
            std::string_view(spec).substr(prefix.size()), port);
        if (!endpoint) fail(option, "expected HOST[:PORT] (IPv6 as [ADDR]:PORT)");
        out.endpoint = *endpoint;
        if (opts.framing) {
            const auto f = klog::sinks::parse_framing(*opts.framing);
            if (!f) fail("--framing " + *opts.framing, "must be octet or lf");
            out.framing = *f;
        }
        if (type == output_spec::kind::tls) {
            for (const auto& [name, file] :
                 {std::pair{"--tls-ca", &opts.tls_ca}, std::pair{"--tls-cert", &opts.tls_cert},
                  std::pair{"--tls-key", &opts.tls_key}}) {
                if (*file) check_readable(name, **file);
            }
            if (opts.tls_cert.has_value() != opts.tls_key.has_value()) {
                fail(opts.tls_cert ? "--tls-cert" : "--tls-key",
                     "--tls-cert and --tls-key go together");
            }
            out.tls_ca = opts.tls_ca;
            out.tls_cert = opts.tls_cert;
            out.tls_key = opts.tls_key;
        }
        if (opts.spool_max) out.spool_max = parse_size("--spool-max", *opts.spool_max);
        if (opts.spool_dir && type != output_spec::kind::udp) {
            if (opts.spool_dir->empty()) fail("--spool-dir", "empty path");
            const std::filesystem::path dir(*opts.spool_dir);
            const auto parent =
                dir.has_parent_path() ? dir.parent_path() : std::filesystem::path(".");
            struct stat st {};
            if (::stat(dir.c_str(), &st) == 0
                    ? !S_ISDIR(st.st_mode)
                    : ::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
                fail("--spool-dir " + *opts.spool_dir,
                     "not a directory, nor one that can be created");
            }
            // One subdirectory per output: tcp-HOST-PORT.
            std::string sub = std::string(prefix.substr(0, 3)) + "-" + out.endpoint.host + "-" +
                              std::to_string(out.endpoint.port);
            for (auto& ch : sub) {
                if (ch == ':' || ch == '/') ch = '_';
            }
            out.spool_dir = (dir / sub).string();
        }
        return out;
    }
    fail(option,
         "unknown output (expected syslog[:SOCKET], file:PATH, udp://HOST[:PORT], "
         "tcp://HOST[:PORT] or tls://HOST[:PORT])");
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
        check_output_path("--state-file", *opts.state_file);
    }
    if (opts.file) {
        check_output_path("-f", *opts.file);
        c.outputs.push_back({output_spec::kind::file, *opts.file});
    }
    for (const auto& spec : opts.outputs) c.outputs.push_back(parse_output(spec, opts));

    if (opts.format) {
        const auto kind = klog::formatters::parse_format_kind(*opts.format);
        if (!kind)
            fail("--format " + *opts.format,
                 "unknown format (traditional, raw, json, rfc3164, rfc5424)");
        c.format = *kind;
    }
    if (opts.system_map) {
        check_readable("-k", *opts.system_map);
        c.system_map = opts.system_map;
    }
    for (const auto& [option, path] :
         {std::pair{"--kallsyms", opts.kallsyms}, std::pair{"--modules", opts.modules}}) {
        if (path) check_readable(option, *path);
    }
    if (opts.signal_reload_modules && opts.signal_reload_all)
        fail("-i", "cannot be combined with -I");
    return c;
}

}  // namespace klogd
