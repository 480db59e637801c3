#include "klogd/outputs.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "klog/formatters/format_kind.hpp"
#include "klog/formatters/journal_formatter.hpp"
#include "klog/sinks/file_sink.hpp"
#include "klog/sinks/stream_sink.hpp"
#include "klog/sinks/syslog_sink.hpp"
#include "klog/sinks/udp_sink.hpp"
#include "klog/os/os.hpp"
#include "klogd/defaults.hpp"

namespace klogd {

namespace {

using klog::formatters::format_kind;
using klog::sinks::when_full;

[[noreturn]] void fail(const std::string& option, const std::string& reason) {
    throw usage_error(option + ": " + reason);
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

output_spec parse_file(std::string_view rest, const options&, const config&) {
    output_spec out;
    out.type = output_spec::kind::file;
    const std::string path(rest);
    if (path.empty()) fail("--output file:", "empty path");
    out.key = "file:" + path;
    out.option = "--output file:" + path;
    out.settings = file_output{path};
    return out;
}

/// `NAME` or `NAME:SOCKET`: a local datagram socket (syslog, journal).
output_spec parse_socket(std::string_view name, output_spec::kind type,
                         const std::string& default_socket, std::string_view rest) {
    output_spec out;
    out.type = type;
    const std::string option = "--output " + std::string(name);
    klog::sinks::syslog_sink::settings s;
    if (rest.empty()) {
        s.path = default_socket;
    } else {
        if (rest.front() != ':') fail(option + std::string(rest), "unknown output");
        s.path = rest.substr(1);
        if (s.path.empty()) fail(option + ":", "empty socket path");
        // Its length is checked once it is absolute (check_environment).
    }
    out.key = std::string(name) + ":" + s.path;
    out.settings = std::move(s);
    return out;
}

output_spec parse_journal(std::string_view rest, const options&, const config&) {
    return parse_socket("journal", output_spec::kind::journal,
                        std::string(defaults::journal_socket), rest);
}

output_spec parse_syslog(std::string_view rest, const options&, const config&) {
    return parse_socket("syslog", output_spec::kind::syslog, std::string(defaults::syslog_socket),
                        rest);
}

/// `HOST[:PORT][?full=drop|block]` for udp://, tcp://, tls://.
output_spec parse_network(std::string_view scheme, output_spec::kind type, std::uint16_t port,
                          std::string_view rest, const options& opts, const config& c) {
    const std::string option = "--output " + std::string(scheme) + std::string(rest);
    output_spec out;
    out.type = type;
    out.mode = type == output_spec::kind::udp ? when_full::drop : when_full::block;
    std::string_view address = rest;
    if (const auto q = rest.find('?'); q != std::string_view::npos) {
        address = rest.substr(0, q);
        const auto query = rest.substr(q + 1);
        if (query == "full=drop") {
            out.mode = when_full::drop;
        } else if (query == "full=block") {
            out.mode = when_full::block;
        } else {
            fail(option, "unknown setting '" + std::string(query) +
                             "' (expected ?full=drop or ?full=block)");
        }
    }
    const auto endpoint = klog::sinks::network_endpoint::parse(address, port);
    if (!endpoint) fail(option, "expected HOST[:PORT] (IPv6 as [ADDR]:PORT)");
    out.key = std::string(scheme) + endpoint->to_string();
    if (type == output_spec::kind::udp) {
        klog::sinks::udp_sink::settings u;
        u.endpoint = *endpoint;
        out.settings = std::move(u);
        return out;
    }
    klog::sinks::stream_sink::settings s;
    s.endpoint = *endpoint;
    s.tls = type == output_spec::kind::tls || type == output_spec::kind::relps;
    s.relp = type == output_spec::kind::relp || type == output_spec::kind::relps;
    s.relp_window = defaults::relp_window;
    s.answer_timeout = defaults::relp_timeout;
    s.spool_max = defaults::spool_max;
    const bool relp = s.relp;
    if (relp && opts.relp_window) {
        std::size_t n = 0;
        const auto& w = *opts.relp_window;
        const auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), n);
        if (ec != std::errc{} || end != w.data() + w.size() || n < 1 || n > 100000) {
            fail("--relp-window " + w, "must be 1 to 100000");
        }
        s.relp_window = n;
    }
    if (relp && opts.relp_timeout) {
        unsigned n = 0;
        const auto& t = *opts.relp_timeout;
        const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
        if (ec != std::errc{} || end != t.data() + t.size() || n < 1 || n > 3600) {
            fail("--relp-timeout " + t, "must be 1 to 3600 seconds");
        }
        s.answer_timeout = std::chrono::seconds(n);
    }
    if (opts.framing) {
        const auto f = klog::sinks::parse_framing(*opts.framing);
        if (!f) fail("--framing " + *opts.framing, "must be octet or lf");
        s.framing = *f;
    }
    if (s.tls) {
        if (opts.tls_cert.has_value() != opts.tls_key.has_value()) {
            fail(opts.tls_cert ? "--tls-cert" : "--tls-key",
                 "--tls-cert and --tls-key go together");
        }
        s.tls_ca = opts.tls_ca;
        s.tls_cert = opts.tls_cert;
        s.tls_key = opts.tls_key;
    }
    if (opts.spool_max) s.spool_max = parse_size("--spool-max", *opts.spool_max);
    // The disk queue: --spool-dir, else (the daemon with a state file) spool/ beside the state
    // file; -o keeps records in memory unless told otherwise.
    std::optional<std::string> base;
    if (opts.spool_dir) {
        if (opts.spool_dir->empty()) fail("--spool-dir", "empty path");
        if (*opts.spool_dir != "none") base = *opts.spool_dir;
    } else if (!c.one_shot && !c.state_file.empty()) {
        const std::filesystem::path state(c.state_file);
        base = ((state.has_parent_path() ? state.parent_path() : std::filesystem::path(".")) /
                "spool")
                   .string();
    }
    if (base) {
        // One subdirectory per output: tcp-HOST-PORT, relps-HOST-PORT...
        std::string sub = std::string(scheme.substr(0, scheme.find(':'))) + "-" +
                          s.endpoint.host + "-" + std::to_string(s.endpoint.port);
        for (auto& ch : sub) {
            if (ch == ':' || ch == '/') ch = '_';
        }
        s.spool_dir = (std::filesystem::path(*base) / sub).string();
    }
    out.settings = std::move(s);
    return out;
}

output_spec parse_udp(std::string_view rest, const options& opts, const config& c) {
    return parse_network("udp://", output_spec::kind::udp, 514, rest, opts, c);
}
output_spec parse_tcp(std::string_view rest, const options& opts, const config& c) {
    return parse_network("tcp://", output_spec::kind::tcp, 514, rest, opts, c);
}
output_spec parse_tls(std::string_view rest, const options& opts, const config& c) {
    return parse_network("tls://", output_spec::kind::tls, 6514, rest, opts, c);
}
output_spec parse_relp(std::string_view rest, const options& opts, const config& c) {
    return parse_network("relp://", output_spec::kind::relp, 2514, rest, opts, c);
}
output_spec parse_relps(std::string_view rest, const options& opts, const config& c) {
    return parse_network("relps://", output_spec::kind::relps, 2514, rest, opts, c);
}

std::unique_ptr<klog::sinks::sink> make_file(const output_spec& spec, output_context& ctx) {
    // Every format written to a file is one line per record (rfc5424 escapes like the others).
    auto options = ctx.format_options;
    options.line_mode = true;
    const auto kind = ctx.file_format;
    const auto color = ctx.file_color;
    // --color is decided once the output is open (auto: is it a terminal?); only the line
    // formats are coloured, json and rfc5424 stay what their readers parse.
    const auto make_format = [&options, kind, color](bool terminal) {
        const bool line_format = kind == format_kind::traditional || kind == format_kind::raw ||
                                 kind == format_kind::rfc3164;
        options.color =
            line_format && klog::formatters::color_wanted(color, terminal, std::getenv("TERM"),
                                                          std::getenv("NO_COLOR"));
        return klog::formatters::make_formatter(kind, options);
    };
    klog::sinks::file_sink::settings settings;
    if (ctx.one_shot) {
        settings.background_block = defaults::one_shot_write_block;
        settings.writeback_after = defaults::one_shot_writeback_after;
    }
    return std::make_unique<klog::sinks::file_sink>(std::get<file_output>(spec.settings).path,
                                                    make_format, settings);
}

std::unique_ptr<klog::sinks::sink> make_syslog(const output_spec& spec, output_context& ctx) {
    return std::make_unique<klog::sinks::syslog_sink>(
        ctx.io, std::get<klog::sinks::syslog_sink::settings>(spec.settings));
}

std::unique_ptr<klog::sinks::sink> make_journal(const output_spec& spec, output_context& ctx) {
    // The local syslog output's delivery (a datagram per record, busy/away/retry), in the
    // journal's native protocol.
    auto s = std::get<klog::sinks::syslog_sink::settings>(spec.settings);
    s.keep_final_newline = true;
    return std::make_unique<klog::sinks::syslog_sink>(
        ctx.io, std::move(s), std::make_unique<klog::formatters::journal_formatter>());
}

std::unique_ptr<klog::sinks::sink> make_udp(const output_spec& spec, output_context& ctx) {
    auto s = std::get<klog::sinks::udp_sink::settings>(spec.settings);
    // Network outputs always carry RFC 5424 records (--format is for files).
    return std::make_unique<klog::sinks::udp_sink>(
        ctx.io, std::move(s),
        klog::formatters::make_formatter(format_kind::rfc5424, ctx.format_options), spec.mode,
        ctx.diagnostics);
}

std::unique_ptr<klog::sinks::sink> make_stream(const output_spec& spec, output_context& ctx) {
    auto s = std::get<klog::sinks::stream_sink::settings>(spec.settings);
    // LF framing: a record must not hold an LF of its own (nor a lookalike of its escape).
    auto options = ctx.format_options;
    options.line_mode = !s.relp && s.framing == klog::sinks::framing::lf;
    return std::make_unique<klog::sinks::stream_sink>(
        ctx.io, std::move(s), klog::formatters::make_formatter(format_kind::rfc5424, options),
        spec.mode, ctx.diagnostics);
}

}  // namespace

std::uint64_t parse_spool_max(const std::string& text) { return parse_size("--spool-max", text); }

const std::vector<output_kind>& output_registry() {
    static const std::vector<output_kind> kinds = {
        {"syslog", parse_syslog, make_syslog},     // syslog or syslog:SOCKET
        {"journal", parse_journal, make_journal},  // journal or journal:SOCKET
        {"file:", parse_file, make_file},
        {"udp://", parse_udp, make_udp},
        {"tcp://", parse_tcp, make_stream},
        {"tls://", parse_tls, make_stream},
        {"relp://", parse_relp, make_stream},
        {"relps://", parse_relps, make_stream},
    };
    return kinds;
}

output_spec parse_output(const std::string& spec, const options& opts, const config& c) {
    for (const auto& kind : output_registry()) {
        if (spec.starts_with(kind.scheme)) {
            auto out = kind.parse(std::string_view(spec).substr(kind.scheme.size()), opts, c);
            if (out.option.empty()) out.option = "--output " + spec;
            return out;
        }
    }
    fail("--output " + spec,
         "unknown output (expected syslog[:SOCKET], journal[:SOCKET], file:PATH, "
         "udp://HOST[:PORT], "
         "tcp://HOST[:PORT], tls://HOST[:PORT], relp://HOST[:PORT] or relps://HOST[:PORT])");
}

output_spec default_output(bool print_instead) {
    output_spec out;
    if (klog::os::exists(std::string(defaults::syslog_socket))) {
        out.type = output_spec::kind::syslog;
        klog::sinks::syslog_sink::settings s;
        s.path = defaults::syslog_socket;
        out.key = "syslog:" + s.path;
        out.settings = std::move(s);
    } else if (print_instead) {
        std::cerr << "klogd: warning: " << defaults::syslog_socket
                  << " does not exist; writing to standard output\n";
        out.type = output_spec::kind::file;
        out.settings = file_output{"-"};
        out.key = "file:-";
    } else {
        throw std::system_error(ENOENT, std::generic_category(),
                                std::string(defaults::syslog_socket) +
                                    " (no local syslog daemon; use -f FILE or -n)");
    }
    return out;
}

std::unique_ptr<klog::sinks::sink> make_output(const output_spec& spec, output_context& ctx) {
    for (const auto& kind : output_registry()) {
        if (spec.key.starts_with(kind.scheme)) return kind.make(spec, ctx);
    }
    throw std::logic_error("no output kind for " + spec.key);
}

namespace {

std::string host_name() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
    std::string s = name;
    // The short name, as syslog daemons print it.
    if (const auto dot = s.find('.'); dot != std::string::npos && dot > 0) s.resize(dot);
    return s;
}

}  // namespace

opened_outputs open_outputs(boost::asio::io_context& io, const config& cfg,
                            const std::string& boot_id,
                            const klog::sinks::sink::diagnostics_fn& diag,
                            const std::function<void()>& progress) {
    output_context ctx{io, {}, cfg.format, diag};
    ctx.format_options.hostname = host_name();
    ctx.file_color = cfg.color;
    ctx.one_shot = cfg.one_shot;
    // A replayed log is not this boot's: its records never carry this machine's boot id (the
    // (boot, seq) pair is a receiver's key to drop duplicates).
    if (cfg.source != source_kind::replay) ctx.format_options.boot_id = boot_id;

    auto specs = cfg.outputs;
    if (specs.empty()) specs.push_back(default_output(cfg.foreground || cfg.one_shot));
    opened_outputs opened;
    for (auto& spec : specs) {
        // One-shot has nothing to keep up with: an output that would drop waits instead.
        if (cfg.one_shot) spec.mode = when_full::block;
        auto sink = make_output(spec, ctx);
        diag("writing to " + sink->name() +
             (sink->mode() == when_full::drop ? " (drops when full)" : ""));
        sink->set_progress(progress);
        sink->set_diagnostics(diag);
        opened.keys.push_back(spec.key);
        opened.sinks.push_back(std::move(sink));
    }
    return opened;
}

}  // namespace klogd
