#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "klog/symbols/module_list.hpp"
#include "klog/symbols/symbol_table.hpp"

namespace klog::symbols {

// /proc/kallsyms: runtime addresses of the core kernel (no module column) and of every loaded
// module (`\t[module]` column). With /proc/modules given, each module's last symbol is bounded
// by the module's base + size; without it that symbol's size is unknown.
//
// When every address reads as zero (kernel.kptr_restrict, or no CAP_SYSLOG), addresses_hidden()
// is true and both tables are empty: kallsyms is unavailable, not a table of symbols at 0.
class kallsyms {
  public:
    // What to keep: everything, or only the module symbols (a module reload: the core lines
    // are read and skipped, no core table is built).
    enum class parts { all, modules_only };
    static kallsyms parse(std::string_view text, std::string_view source,
                          const module_list* modules = nullptr, parts keep = parts::all);
    static kallsyms parse(std::istream& in, std::string_view source,
                          const module_list* modules = nullptr);
    // Reads the file block by block (never whole). Throws std::system_error naming the path
    // when it cannot be opened or read.
    static kallsyms load(const std::filesystem::path& path, const module_list* modules = nullptr,
                         parts keep = parts::all);

    const symbol_table& kernel() const noexcept { return kernel_; }
    const symbol_table& modules() const noexcept { return modules_; }
    symbol_table take_kernel() noexcept { return std::move(kernel_); }
    symbol_table take_modules() noexcept { return std::move(modules_); }

    bool addresses_hidden() const noexcept { return hidden_; }
    // Runtime address of `_text` (else `_stext`).
    std::optional<std::uint64_t> text_address() const noexcept { return text_; }

    const std::string& source() const noexcept { return source_; }
    const std::vector<std::string>& diagnostics() const noexcept { return diagnostics_; }
    std::size_t malformed_lines() const noexcept { return malformed_; }

  private:
    class builder;

    symbol_table kernel_;
    symbol_table modules_;
    std::optional<std::uint64_t> text_;
    bool hidden_ = false;
    std::string source_;
    std::vector<std::string> diagnostics_;
    std::size_t malformed_ = 0;
};

}  // namespace klog::symbols
