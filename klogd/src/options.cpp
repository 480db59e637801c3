#include "klogd/options.hpp"

#include <boost/program_options.hpp>
#include <sstream>
#include <string_view>

namespace klogd {

namespace po = boost::program_options;

namespace {

// The option tables read best as tables: keep clang-format's line breaking out of them.
// clang-format off
po::options_description describe(options& o) {
    po::options_description classic("Classic switches");
    classic.add_options()
        (",c", po::value<std::string>()->value_name("N"),
         "set the console log level to N (1-8) and continue")
        (",d", po::bool_switch(&o.debug), "diagnostics on standard error")
        (",f", po::value<std::string>()->value_name("FILE"),
         "write to FILE (appended) instead of local syslog; - is standard output (with -n or -o)")
        (",i", po::bool_switch(&o.signal_reload_modules),
         "tell the running klogd to reload module symbols, then exit")
        (",I", po::bool_switch(&o.signal_reload_all),
         "tell the running klogd to reload all symbols, then exit")
        (",k", po::value<std::string>()->value_name("FILE"), "System.map to use")
        (",n", po::bool_switch(&o.foreground), "stay in the foreground (inittab, supervisors)")
        (",o", po::bool_switch(&o.one_shot),
         "one-shot: deliver everything now in the kernel buffer, then exit")
        (",p", po::bool_switch(&o.oops_reload),
         "reload module symbols when a message contains 'Oops'")
        (",s", po::bool_switch(&o.force_syscall), "read through syslog(2), not /dev/kmsg")
        (",v", po::bool_switch(&o.version), "print the version and exit")
        (",x", po::bool_switch(&o.no_symbols), "do not resolve kernel addresses")
        (",2", po::bool_switch(&o.print_both),
         "print lines with resolved addresses twice: raw, then resolved");
    po::options_description modern("Options");
    modern.add_options()
        ("source", po::value<std::string>(&o.source)->value_name("SRC"),
         "auto|kmsg|proc|syscall, or a saved log PATH (- = standard input) to replay")
        ("output", po::value<std::vector<std::string>>(&o.outputs)->value_name("SPEC"),
         "syslog[:SOCKET], journal[:SOCKET], file:PATH, udp://HOST[:PORT], tcp://HOST[:PORT], "
         "tls://HOST[:PORT], relp://HOST[:PORT], relps://HOST[:PORT] "
         "(repeatable: every record goes to every output); a network output ending in "
         "?full=drop drops records (and says so) instead of holding the others back when it "
         "can take no more, ?full=block holds them back (udp drops by default)")
        ("format", po::value<std::string>()->value_name("FMT"),
         "traditional|raw|json|rfc3164|rfc5424 for files and standard output")
        ("color", po::value<std::string>()->value_name("WHEN"),
         "auto|always|never: colour traditional, raw and rfc3164 lines by level, as dmesg "
         "does, in files and on standard output (auto, the default: only a terminal, TERM "
         "not dumb, NO_COLOR unset)")
        ("pidfile", po::value<std::string>(&o.pidfile)->value_name("PATH"),
         "pid file of the daemon (default /run/klogd.pid)")
        ("state-file", po::value<std::string>()->value_name("PATH"),
         "where the /dev/kmsg cursor is kept (default /var/lib/klogd/state; none: no cursor)")
        ("user", po::value<std::string>()->value_name("USER"),
         "drop privileges to USER after opening what needs root")
        ("min-level", po::value<std::string>()->value_name("LEVEL"),
         "deliver only records of LEVEL (0-7 or emerg..debug) or more severe")
        ("kallsyms", po::value<std::string>()->value_name("PATH"),
         "kernel symbol table (default /proc/kallsyms; a replay uses none unless given)")
        ("modules", po::value<std::string>()->value_name("PATH"),
         "module list (default /proc/modules; a replay uses none unless given)")
        ("framing", po::value<std::string>()->value_name("octet|lf"),
         "tcp:// and tls:// framing: octet counting (default) or LF (newlines in a record "
         "become \\x0a)")
        ("tls-ca", po::value<std::string>()->value_name("FILE"),
         "CA certificates (PEM) that sign tls:// and relps:// collectors (default: the "
         "system's)")
        ("tls-cert", po::value<std::string>()->value_name("FILE"),
         "client certificate (PEM) for tls:// and relps:// collectors that ask for one")
        ("tls-key", po::value<std::string>()->value_name("FILE"), "key of --tls-cert (PEM)")
        ("relp-window", po::value<std::string>()->value_name("N"),
         "relp:// and relps://: at most N records sent and not yet answered (default 128)")
        ("relp-timeout", po::value<std::string>()->value_name("SECONDS"),
         "relp:// and relps://: reconnect when the collector leaves a record unanswered this "
         "long (default 90)")
        ("spool-dir", po::value<std::string>()->value_name("DIR"),
         "disk queue of tcp://, tls://, relp:// and relps:// outputs, one subdirectory per output (default: "
         "spool/ beside the state file for the daemon, none for -o; none: memory only)")
        ("spool-max", po::value<std::string>()->value_name("SIZE"),
         "size cap of each output's spool, bytes with K, M or G suffix (default 64M)")
        ("incident-dir", po::value<std::string>()->value_name("DIR"),
         "also write each incident (Oops, WARNING, panic, hung task, lockup, OOM kill...) as a "
         "JSON file there (the newest 1000 kept)")
        ("pstore", po::value<std::string>()->value_name("DIR|none"),
         "daemon: deliver the previous boot's log kept in pstore, then archive it beside the "
         "state file (default /sys/fs/pstore)")
        ("metrics", po::value<std::string>()->value_name("[ADDR:]PORT"),
         "daemon: serve Prometheus metrics on http://ADDR:PORT/metrics (ADDR default "
         "127.0.0.1; IPv6 as [::1]:PORT)")
        ("metrics-file", po::value<std::string>()->value_name("PATH"),
         "daemon: write the same metrics to PATH (node_exporter's textfile collector), "
         "replaced atomically every --metrics-interval and at exit")
        ("metrics-interval", po::value<std::string>()->value_name("SECONDS"),
         "how often --metrics-file is written (1-86400, default 15)")
        ("rules", po::value<std::string>()->value_name("FILE"),
         "count records matching the rules in FILE (klogd_rule_matches_total; see README "
         "\"Rules\")")
        ("flush-timeout", po::value<std::string>()->value_name("SECONDS"),
         "-o: give up on outputs that make no progress for this long (default 10); a "
         "stopping daemon waits at most 2 s of it")
        ("check-config", po::bool_switch(&o.check_config),
         "check the command line and the files it names, then exit")
        ("help,h", po::bool_switch(&o.help), "print this help and exit");
    po::options_description all;
    all.add(classic).add(modern);
    return all;
}
// clang-format on

std::optional<std::string> take(const po::variables_map& vm, const char* name) {
    if (vm.count(name) == 0) return std::nullopt;
    return vm[name].as<std::string>();
}

}  // namespace

options parse_options(int argc, const char* const argv[]) {
    options o;
    const auto desc = describe(o);
    po::variables_map vm;
    // klogd takes no positional arguments: they are collected only to be refused by name.
    std::vector<std::string> stray;
    po::options_description with_stray;
    with_stray.add(desc).add_options()("stray", po::value<std::vector<std::string>>(&stray));
    po::positional_options_description positional;
    positional.add("stray", -1);
    try {
        po::store(po::command_line_parser(argc, argv)
                      .options(with_stray)
                      .positional(positional)
                      .style(po::command_line_style::unix_style)
                      .run(),
                  vm);
        po::notify(vm);
    } catch (const po::error& e) {
        // Boost names short options '--f'; klogd's are '-f'.
        std::string what = e.what();
        for (std::size_t at = what.find("'--"); at != std::string::npos;
             at = what.find("'--", at + 1)) {
            if (at + 4 < what.size() && what[at + 4] == '\'') what.erase(at + 1, 1);
        }
        throw usage_error(what);
    }
    if (!stray.empty()) {
        throw usage_error("unexpected argument '" + stray.front() + "' (klogd takes options only)");
    }
    o.console_level = take(vm, "-c");
    o.file = take(vm, "-f");
    o.system_map = take(vm, "-k");
    o.format = take(vm, "format");
    o.color = take(vm, "color");
    o.user = take(vm, "user");
    o.min_level = take(vm, "min-level");
    o.kallsyms = take(vm, "kallsyms");
    o.state_file = take(vm, "state-file");
    o.modules = take(vm, "modules");
    o.framing = take(vm, "framing");
    o.tls_ca = take(vm, "tls-ca");
    o.tls_cert = take(vm, "tls-cert");
    o.tls_key = take(vm, "tls-key");
    o.spool_dir = take(vm, "spool-dir");
    o.spool_max = take(vm, "spool-max");
    o.flush_timeout = take(vm, "flush-timeout");
    o.relp_window = take(vm, "relp-window");
    o.relp_timeout = take(vm, "relp-timeout");
    o.incident_dir = take(vm, "incident-dir");
    o.pstore = take(vm, "pstore");
    o.metrics = take(vm, "metrics");
    o.metrics_file = take(vm, "metrics-file");
    o.metrics_interval = take(vm, "metrics-interval");
    o.rules = take(vm, "rules");
    return o;
}

std::string help_text() {
    options scratch;
    std::ostringstream out;
    out << "Usage: klogd [-2dinopsvxI] [-c N] [-f FILE] [-k FILE] [--source=SRC]\n"
           "             [--output=SPEC]... [--format=FMT] [--pidfile=PATH] [more options]\n"
           "Read the kernel log, resolve kernel addresses to symbols, and deliver every record\n"
           "to local syslog, a file or standard output.\n\n"
        << describe(scratch)
        << "\nSignals: TERM/INT stop, HUP reopen outputs, TSTP/CONT suspend/resume reading,\n"
           "USR1 reload module symbols, USR2 reload all symbols.\n"
           "Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.\n";
    return out.str();
}

}  // namespace klogd
