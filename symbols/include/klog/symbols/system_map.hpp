#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "klog/symbols/symbol_table.hpp"

namespace klog::symbols {

// A System.map (`nm` output of vmlinux: link-time addresses, no module column). Malformed lines
// are reported as `SOURCE:LINE: ...` in diagnostics() and skipped; everything else still loads.
class system_map {
  public:
    static system_map parse(std::string_view text, std::string_view source);
    static system_map parse(std::istream& in, std::string_view source);
    // Throws std::system_error naming the path when it cannot be opened or read.
    static system_map load(const std::filesystem::path& path);

    const symbol_table& table() const noexcept { return table_; }
    symbol_table take_table() noexcept { return std::move(table_); }

    // Link-time address of `_text` (else `_stext`): the base of the KASLR offset.
    std::optional<std::uint64_t> text_address() const noexcept { return text_; }

    const std::string& source() const noexcept { return source_; }
    const std::vector<std::string>& diagnostics() const noexcept { return diagnostics_; }
    std::size_t malformed_lines() const noexcept { return malformed_; }

  private:
    symbol_table table_;
    std::optional<std::uint64_t> text_;
    std::string source_;
    std::vector<std::string> diagnostics_;
    std::size_t malformed_ = 0;
};

}  // namespace klog::symbols
