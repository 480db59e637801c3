#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "klog/formatters/color_mode.hpp"
#include "klog/formatters/format_kind.hpp"
#include "klog/formatters/formatter.hpp"
#include "klog/sinks/sink.hpp"
#include "klogd/config.hpp"
#include "klogd/options.hpp"

namespace klogd {

/// What an output may need from the application when it is made.
struct output_context {
    boost::asio::io_context& io;
    klog::formatters::format_options format_options;
    klog::formatters::format_kind file_format = klog::formatters::format_kind::traditional;
    klog::sinks::sink::diagnostics_fn diagnostics;
    /// --color for file outputs (and standard output); no other output is ever coloured.
    klog::formatters::color_mode file_color = klog::formatters::color_mode::automatic;
    /// A one-shot run (`-o`): file outputs write in the background (defaults.hpp).
    bool one_shot = false;
};

/// One kind of output: the scheme that names it, how a `--output=` value of that scheme is
/// checked (throws usage_error naming the option), and how the sink is made. A new output is
/// one sink class plus one entry in `output_registry()`; nothing else changes.
struct output_kind {
    std::string_view scheme;  ///< "file:", "syslog", "udp://", ...
    /// `rest` is the value after the scheme; `opts` the command line (shared settings such as
    /// --framing, --tls-*, --spool-*); `c` the config being made (state file, one-shot).
    output_spec (*parse)(std::string_view rest, const options& opts, const config& c);
    std::unique_ptr<klog::sinks::sink> (*make)(const output_spec& spec, output_context& ctx);
};

/// Every output klogd knows, in the order `--help` names them.
[[nodiscard]] const std::vector<output_kind>& output_registry();

/// Checks one `--output=` value (throws usage_error naming it).
[[nodiscard]] output_spec parse_output(const std::string& spec, const options& opts,
                                       const config& c);

/// `--spool-max`: bytes with an optional K, M or G suffix, at least 4K (throws usage_error).
[[nodiscard]] std::uint64_t parse_spool_max(const std::string& text);

/// No --output and no -f: local syslog on /dev/log; without it, standard output when
/// `print_instead` (-n, -o: said on standard error), else std::system_error (ENOENT).
[[nodiscard]] output_spec default_output(bool print_instead);

/// Makes the sink for a checked spec. Throws std::system_error naming what cannot be opened.
[[nodiscard]] std::unique_ptr<klog::sinks::sink> make_output(const output_spec& spec,
                                                             output_context& ctx);

/// The outputs of a run, made and wired: the sinks in the pipeline's order, and each one's
/// name in the state file.
struct opened_outputs {
    std::vector<std::unique_ptr<klog::sinks::sink>> sinks;
    std::vector<std::string> keys;
};

/// Makes every output `cfg` names (or the default one) for this boot, each reporting progress
/// and diagnostics to the given functions. Throws std::system_error naming what cannot be
/// opened.
[[nodiscard]] opened_outputs open_outputs(boost::asio::io_context& io, const config& cfg,
                                          const std::string& boot_id,
                                          const klog::sinks::sink::diagnostics_fn& diag,
                                          const std::function<void()>& progress);

}  // namespace klogd
