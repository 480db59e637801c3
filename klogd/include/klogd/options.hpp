#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "klogd/defaults.hpp"

namespace klogd {

/// A bad command line or configuration: one line naming the option and the reason; exit 2.
class usage_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// The command line as given, before validation (argv → options → config).
struct options {
    std::optional<std::string> console_level;  ///< -c N
    bool debug = false;                        ///< -d
    std::optional<std::string> file;           ///< -f FILE ("-" = stdout)
    bool signal_reload_modules = false;        ///< -i
    bool signal_reload_all = false;            ///< -I
    std::optional<std::string> system_map;     ///< -k FILE
    bool foreground = false;                   ///< -n
    bool one_shot = false;                     ///< -o
    bool oops_reload = false;                  ///< -p
    bool force_syscall = false;                ///< -s
    bool version = false;                      ///< -v
    bool no_symbols = false;                   ///< -x
    bool print_both = false;                   ///< -2

    std::string source = "auto";
    std::vector<std::string> outputs;
    std::optional<std::string> format;
    std::optional<std::string> color;  ///< --color=auto|always|never
    std::string pidfile{defaults::pidfile};
    std::optional<std::string> state_file;  ///< default /var/lib/klogd/state
    std::optional<std::string> user;
    std::optional<std::string> min_level;
    std::optional<std::string> kallsyms;  ///< default /proc/kallsyms (not for replays)
    std::optional<std::string> modules;   ///< default /proc/modules (not for replays)
    // Network outputs (udp://, tcp://, tls://).
    std::optional<std::string> framing;    ///< --framing=octet|lf (tcp, tls)
    std::optional<std::string> tls_ca;     ///< --tls-ca=FILE
    std::optional<std::string> tls_cert;   ///< --tls-cert=FILE
    std::optional<std::string> tls_key;    ///< --tls-key=FILE
    std::optional<std::string> spool_dir;  ///< --spool-dir=DIR
    std::optional<std::string> spool_max;  ///< --spool-max=SIZE (K, M, G suffixes)
    std::optional<std::string> flush_timeout;  ///< --flush-timeout=SECONDS
    std::optional<std::string> relp_window;    ///< --relp-window=N
    std::optional<std::string> relp_timeout;   ///< --relp-timeout=SECONDS
    std::optional<std::string> incident_dir;   ///< --incident-dir=DIR
    std::optional<std::string> pstore;         ///< --pstore=DIR|none
    std::optional<std::string> metrics;           ///< --metrics=[ADDR:]PORT
    std::optional<std::string> metrics_file;      ///< --metrics-file=PATH
    std::optional<std::string> metrics_interval;  ///< --metrics-interval=SECONDS
    std::optional<std::string> rules;             ///< --rules=FILE
    bool check_config = false;
    bool help = false;
};

/// Parses argv. Throws usage_error for unknown options, missing or repeated values.
[[nodiscard]] options parse_options(int argc, const char* const argv[]);

/// The `--help` text (every switch and long option).
[[nodiscard]] std::string help_text();

}  // namespace klogd
