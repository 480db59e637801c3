#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace klog::symbols {

// The answer of a lookup: `name+0x<offset>/0x<size> [module]`, as the kernel's %pS prints it.
// The views point into the table that answered and stay valid until that table is replaced.
struct symbol_match {
    std::string_view name;
    std::uint64_t offset = 0;
    std::optional<std::uint64_t> size;  // empty: last symbol of its range, end unknown
    std::string_view module;            // empty for the core kernel
};

}  // namespace klog::symbols
