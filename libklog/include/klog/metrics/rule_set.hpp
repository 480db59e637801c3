#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "klog/record_view.hpp"

namespace klog::metrics {

/// A rule file that cannot be used: `what()` is one line, `FILE:LINE: reason`, and never quotes
/// the file's contents beyond the rule or key name the reason is about.
class rule_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// One rule of `--rules=FILE` (format in README "Rules"):
///
///     [io_error]                 # the rule's name: letters, digits, _ (a metric label)
///     text = I/O error, dev \w+  # ECMAScript regex searched in the text (no dictionary)
///     level = emerg..err         # one level or a range, names or 0..7
///     facility = kern            # a name (kern, user, daemon, ...) or 0..255
///     subsystem = block          # the record's SUBSYSTEM= (exact)
///     device = b8:0              # the record's DEVICE= (exact)
///     condition = 300            # also a condition: set while it matches, cleared after
///                                # 300 s without a match
///
/// Every key but the name is optional; a rule matches a record when all its keys do. klogd's
/// own records never match.
struct rule {
    std::string name;
    std::optional<std::regex> text;
    std::string text_source;  ///< the regex as written (for -d)
    std::uint8_t level_min = 0, level_max = 7;
    std::optional<std::uint8_t> facility;
    std::optional<std::string> subsystem;
    std::optional<std::string> device;
    std::optional<std::chrono::seconds> condition;  ///< quiet period that clears it
    // state
    std::uint64_t matches = 0;
    std::optional<std::chrono::steady_clock::time_point> last_match;
};

/// The rules of one file, matched against every record.
class rule_set {
  public:
    using clock = std::chrono::steady_clock;

    /// Parses `text` (the file's contents, named `file` in errors). Throws rule_error.
    static rule_set parse(std::string_view text, const std::string& file);
    /// Reads and parses `path` (at most 1 MiB). Throws rule_error.
    static rule_set load(const std::string& path);

    /// Counts `record` against every rule (klogd's own records are skipped).
    void match(const record_view& record, clock::time_point now = clock::now());
    /// A condition is set while its rule matched less than its quiet period ago.
    [[nodiscard]] bool condition_set(const rule& r, clock::time_point now = clock::now()) const;

    [[nodiscard]] const std::vector<rule>& rules() const noexcept { return rules_; }
    [[nodiscard]] bool empty() const noexcept { return rules_.empty(); }

    /// The longest text a regex is run on (kernel records are at most 1024 bytes; a longer
    /// malformed line is cut, so that no input makes matching unbounded).
    static constexpr std::size_t max_text = 2048;

  private:
    std::vector<rule> rules_;
};

}  // namespace klog::metrics
