#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "klog/symbols/symbol_resolver.hpp"

namespace klog::symbols {

// What expand() did to one line.
struct expand_result {
    bool expanded = false;                // `out` holds the rewritten line
    bool module_address = false;          // some address lies in the module area
    bool unknown_module_address = false;  // an address in the module area no module covers:
                                          // reload module symbols (the caller rate-limits)
    explicit operator bool() const noexcept { return expanded; }
};

// Rewrites one line of kernel text, keeping every address and adding the symbol after it:
//   `[<ffffffffc0232000>]`          → `[<ffffffffc0232000>] crc7_be+0x0/0x1024 [crc7]`
//   `RIP: 0010:0xffffffff81a07e3d`  → `RIP: 0010:0xffffffff81a07e3d _printk+0x0/0x83`
// and likewise after `EIP:` (optionally `EIP: 0060:`), `PC is at `, `LR is at `, `pc : `,
// `lr : ` when what follows is a hex address (`0x` and 1–16 digits, or 8–16 bare digits).
// `[mod]` is added only for module symbols; offset and size are lowercase hex as the kernel's
// %pS prints them (`+0xOFF` alone when the size is unknown).
// Untouched: addresses no table covers, empty `[<>]`, and anything the kernel already
// symbolized (`RIP: 0010:foo+0x12/0x50`, `[<...>] foo+0x1/0x2`, `[<...>] ? foo+0x1/0x2`).
//
// Hot path: `out` is the caller's reused buffer; a line with nothing to expand costs no
// allocation and leaves `out` empty (use the input line). At most max_expansions per line.
class expander {
  public:
    static constexpr std::size_t max_expansions = 64;

    explicit expander(const symbol_resolver& resolver) noexcept : resolver_(&resolver) {}

    expand_result expand(std::string_view line, std::string& out) const;

    /// False when `line` holds no address form at all: expand() would find nothing in it,
    /// whatever the tables. Asks nothing of the resolver (its tables may still be loading).
    [[nodiscard]] static bool may_expand(std::string_view line);

  private:
    const symbol_resolver* resolver_;
};

}  // namespace klog::symbols
