#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "klog/symbols/kallsyms.hpp"
#include "klog/symbols/system_map.hpp"

namespace klog::symbols {

// KASLR: the running kernel is the link-time image moved by one offset.
struct kernel_offset {
    std::uint64_t offset = 0;                // runtime − link-time, modulo 2^64
    std::optional<std::uint64_t> link_base;  // the `from 0x...` part, when printed
};

// Runtime `_text` (kallsyms) − link-time `_text` (System.map); empty when either is unknown
// (kallsyms hidden by kptr_restrict, or no `_text`/`_stext` in a file).
std::optional<std::uint64_t> kaslr_offset(const kallsyms& running, const system_map& map) noexcept;

// Finds `Kernel Offset: 0x2b400000 from 0xffffffff81000000 (relocation range: ...)` as the panic
// path prints it (x86, arm64) anywhere in `line`; `Kernel Offset: disabled` gives 0.
std::optional<kernel_offset> parse_kernel_offset(std::string_view line) noexcept;

// The first `Kernel Offset:` line of a saved log (a replay of a crashed kernel's log), read in
// blocks; `line` gets that line from `Kernel Offset:` on. nullopt when there is none or the
// file cannot be read.
std::optional<kernel_offset> kernel_offset_in_log(const std::string& path, std::string& line);

}  // namespace klog::symbols
