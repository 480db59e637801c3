#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace klog::symbols {

// The check at start of a file named by `-k`, `--kallsyms` or `--modules`: is it what it is said
// to be? Only its first lines are read, and the answer never quotes the file (it may be a
// secret that klogd was pointed at by mistake: `-k /etc/shadow`).
//
// A System.map or kallsyms file must be a regular file with at least one `ADDRESS TYPE NAME`
// line (symbol_file::parse_line) among its first `lines_checked` lines; a modules file must be
// a regular file that is empty (no module loaded) or has a `/proc/modules` line among them.
// The loaders themselves still accept any file later (a map replaced while klogd runs): this is
// the start-up guard against the wrong file.
class symbol_file_check {
  public:
    enum class kind { system_map, kallsyms, modules };

    static constexpr std::size_t lines_checked = 16;
    static constexpr std::size_t bytes_checked = 64 * 1024;

    // Empty when `path` looks like a `k` file; otherwise why not, in words that never quote
    // the file. Never throws.
    static std::optional<std::string> problem(const std::filesystem::path& path, kind k);

    // The same judgement on `head`, the first bytes of a file; `complete` when they are the
    // whole file (otherwise a last line without its '\n' is not judged).
    static std::optional<std::string> problem_in(std::string_view head, kind k, bool complete);
};

}  // namespace klog::symbols
