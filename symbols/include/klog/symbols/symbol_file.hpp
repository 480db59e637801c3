#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

namespace klog::symbols {

// The nm-style text shared by System.map and /proc/kallsyms:
//   `ffffffff81a07e3d T _printk` and, in kallsyms, `ffffffffc0232000 T crc7_be\t[crc7]`.
// Reading is whole-buffer (one read, then string_view/from_chars), never per character.
class symbol_file {
  public:
    struct line {
        std::uint64_t address = 0;
        char type = 0;
        std::string_view name;
        std::string_view module;  // without the brackets; empty when there is no column
    };
    enum class status { symbol, blank, malformed };

    // At most this many malformed lines are reported one by one; the rest are counted.
    static constexpr std::size_t max_reported_lines = 20;

    // Whole stream / whole file into memory. read_file() throws std::system_error naming the
    // path when the file cannot be opened or read.
    static std::string read_all(std::istream& in);
    static std::string read_file(const std::filesystem::path& path);

    // Number of lines (a final line without '\n' counts).
    static std::size_t count_lines(std::string_view text) noexcept;

    // Parses one line (without its '\n'; a trailing '\r' is tolerated).
    static status parse_line(std::string_view text, line& out) noexcept;

    // Calls `on_symbol(line)` for each well-formed line and appends one diagnostic
    // `SOURCE:LINE: malformed symbol line` per malformed line to `diagnostics`. A diagnostic
    // never quotes the file: klogd may have been pointed at the wrong one (a secret), and its
    // diagnostics go to the log. Returns the number of malformed lines.
    static std::size_t parse(std::string_view text, std::string_view source,
                             const std::function<void(const line&)>& on_symbol,
                             std::vector<std::string>& diagnostics);
    // The same over a file read in blocks of block_size bytes: the file is never held whole
    // (kallsyms is megabytes; a load's peak stays close to the tables it builds). A line
    // longer than a block is malformed. Throws std::system_error naming the path when it
    // cannot be opened or read.
    static constexpr std::size_t block_size = 64 * 1024;
    static std::size_t parse_file(const std::filesystem::path& path, std::string_view source,
                                  const std::function<void(const line&)>& on_symbol,
                                  std::vector<std::string>& diagnostics);
};

}  // namespace klog::symbols
