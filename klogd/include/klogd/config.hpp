#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <chrono>

#include "klog/formatters/color_mode.hpp"
#include "klog/formatters/format_kind.hpp"
#include "klog/sinks/sink.hpp"
#include "klog/sinks/stream_sink.hpp"
#include "klog/sinks/syslog_sink.hpp"
#include "klog/sinks/udp_sink.hpp"
#include "klogd/defaults.hpp"
#include "klogd/options.hpp"

namespace klogd {

/// Which kernel interface to read.
enum class source_kind { automatic, kmsg, proc, syscall, replay };

/// `-f FILE`, `--output=file:PATH`: the path, "-" for standard output.
struct file_output {
    std::string path;
};

/// One destination of `--output=` / `-f`, checked (see klogd/outputs.hpp for the kinds).
struct output_spec {
    enum class kind { syslog, journal, file, udp, tcp, tls, relp, relps };
    kind type = kind::syslog;
    /// How the state file names this output: the `--output=` value without its query
    /// (`file:/var/log/kern.log`, `syslog:/dev/log`, `tcp://logs:514`); `-f FILE` is `file:FILE`.
    std::string key;
    /// What named it on the command line, for the environment check's messages: "-f" or
    /// "--output file:PATH" (a file), else "--output SPEC".
    std::string option;
    /// When it can take no more: stop reading the kernel (block) or drop and say so (drop).
    /// `?full=drop|block` on network outputs; udp drops by default, everything else blocks.
    klog::sinks::when_full mode = klog::sinks::when_full::block;
    /// What its sink is made with, filled in by the output's parser: the file's path; the local
    /// socket's (syslog, journal); the udp sink's; the stream sink's (tcp, tls, relp, relps:
    /// endpoint, framing, TLS files, spool, RELP window and timeout). Network outputs always
    /// carry RFC 5424 records.
    std::variant<file_output, klog::sinks::syslog_sink::settings, klog::sinks::udp_sink::settings,
                 klog::sinks::stream_sink::settings>
        settings;
};

/// The configuration: every value checked (make_config), then every file and directory it names
/// (check_environment).
struct config {
    source_kind source = source_kind::automatic;
    std::string replay_path;  ///< source_kind::replay
    /// kmsg/proc read from another path (`--source=kmsg:PATH`, `proc:PATH`): a stand-in such as
    /// a SOCK_SEQPACKET socket (one message = one record) for tests and containers.
    std::optional<std::string> source_path;
    std::vector<output_spec> outputs;
    klog::formatters::format_kind format = klog::formatters::format_kind::traditional;
    /// --color: line formats on file outputs and standard output only (never syslog or the
    /// network); auto is decided per output when it is opened.
    klog::formatters::color_mode color = klog::formatters::color_mode::automatic;
    std::optional<int> console_level;
    std::optional<std::uint8_t> min_level;
    bool debug = false;
    bool foreground = false;
    bool one_shot = false;
    bool oops_reload = false;
    bool no_symbols = false;
    bool print_both = false;
    std::optional<std::string> system_map;
    std::optional<std::string> kallsyms;  ///< explicit --kallsyms
    std::optional<std::string> modules;   ///< explicit --modules
    std::string pidfile;
    /// The /dev/kmsg cursor; empty: none (a stand-in source without an explicit --state-file,
    /// whose sequence numbers are not the kernel's).
    std::string state_file;
    bool state_file_given = false;  ///< --state-file named it (checked; the default is made)
    /// --spool-dir when given (not `none`): the directory the tcp/tls/relp spools go in.
    std::optional<std::string> spool_dir;
    std::optional<std::string> user;
    std::optional<unsigned> user_id;   ///< --user's uid and gid, checked
    std::optional<unsigned> group_id;
    /// --incident-dir: one JSON file per incident.
    std::optional<std::string> incident_dir;
    /// --pstore: where the previous boot's log is read at start; empty: not read.
    std::string pstore_dir{defaults::pstore_dir};
    /// --metrics: the address and port to serve /metrics on.
    std::optional<std::string> metrics_address;
    std::uint16_t metrics_port = 0;
    std::optional<std::string> metrics_file;  ///< --metrics-file
    std::chrono::seconds metrics_interval = defaults::metrics_interval;
    std::optional<std::string> rules_file;    ///< --rules, checked (parsed) at start
    std::chrono::milliseconds flush_timeout = defaults::flush_timeout;
};

/// The configuration `opts` asks for: a function of the options alone (it reads no file, looks
/// at no directory, asks for no user). Throws usage_error with one line naming the option and
/// the reason.
[[nodiscard]] config make_config(const options& opts);

/// The environment step, run at every start and by --check-config, before anything is made:
/// files to read are readable and hold what they claim (System.map, kallsyms, TLS files,
/// rules), files to write can be made and are no links, directories can take new ones, two
/// outputs are not one file under two names, the --user exists (its ids are filled in).
/// Throws usage_error with one line naming the option, the path and the reason.
void check_environment(config& c);

}  // namespace klogd
