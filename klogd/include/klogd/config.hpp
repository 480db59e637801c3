#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <chrono>

#include "klog/formatters/color_mode.hpp"
#include "klog/formatters/format_kind.hpp"
#include "klog/sinks/framing.hpp"
#include "klog/sinks/sink.hpp"
#include "klog/sinks/network_endpoint.hpp"
#include "klogd/options.hpp"

namespace klogd {

/// Which kernel interface to read.
enum class source_kind { automatic, kmsg, proc, syscall, replay };

/// One destination of `--output=` / `-f`, checked (see klogd/outputs.hpp for the kinds).
struct output_spec {
    enum class kind { syslog, journal, file, udp, tcp, tls, relp, relps };
    kind type = kind::syslog;
    /// How the state file names this output: the `--output=` value without its query
    /// (`file:/var/log/kern.log`, `syslog:/dev/log`, `tcp://logs:514`); `-f FILE` is `file:FILE`.
    std::string key;
    std::string path;  ///< file: the path, "-" for standard output; syslog, journal: the socket
    /// When it can take no more: stop reading the kernel (block) or drop and say so (drop).
    /// `?full=drop|block` on network outputs; udp drops by default, everything else blocks.
    klog::sinks::when_full mode = klog::sinks::when_full::block;
    // Network outputs (udp, tcp, tls): always RFC 5424 records.
    klog::sinks::network_endpoint endpoint{};  ///< host and port (default 514, tls 6514)
    klog::sinks::framing framing = klog::sinks::framing::octet_counting;  ///< tcp, tls
    std::optional<std::string> tls_ca{};     ///< --tls-ca (else the system's CA certificates)
    std::optional<std::string> tls_cert{};   ///< --tls-cert (client certificate, optional)
    std::optional<std::string> tls_key{};    ///< --tls-key
    std::optional<std::string> spool_dir{};  ///< tcp, tls: this output's own spool directory
    std::uint64_t spool_max = 64ULL << 20;   ///< --spool-max, bytes
    std::size_t relp_window = 128;           ///< --relp-window (relp, relps)
    std::chrono::seconds relp_timeout{90};   ///< --relp-timeout (relp, relps)
};

/// How long `-o` waits for outputs that make no progress (`--flush-timeout`), and how long a
/// stopping daemon waits (the shorter of it and two seconds).
inline constexpr std::chrono::milliseconds default_flush_timeout{10000};

/// The validated configuration: every value checked, every file named checked.
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
    std::optional<std::string> user;
    std::optional<unsigned> user_id;   ///< --user's uid and gid, checked
    std::optional<unsigned> group_id;
    std::string syslog_socket = "/dev/log";
    std::string journal_socket = "/run/systemd/journal/socket";  ///< --output=journal
    /// --incident-dir: one JSON file per incident.
    std::optional<std::string> incident_dir;
    /// --pstore: where the previous boot's log is read at start; empty: not read.
    std::string pstore_dir = "/sys/fs/pstore";
    /// --metrics: the address and port to serve /metrics on.
    std::optional<std::string> metrics_address;
    std::uint16_t metrics_port = 0;
    std::optional<std::string> metrics_file;  ///< --metrics-file
    std::chrono::seconds metrics_interval{15};
    std::optional<std::string> rules_file;    ///< --rules, checked (parsed) at start
    std::chrono::milliseconds flush_timeout = default_flush_timeout;
};

/// Checks `opts` and the files it names. Throws usage_error with one line naming the option
/// and the reason.
[[nodiscard]] config make_config(const options& opts);

}  // namespace klogd
