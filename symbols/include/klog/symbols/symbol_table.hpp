#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "klog/symbols/symbol_match.hpp"

namespace klog::symbols {

// One sorted table of symbols: the core kernel, or every module at once (each entry carries its
// module, so modules whose sections interleave in memory, as since Linux 6.4, still resolve).
//
// Build with add() in any order, then finalize(); lookups before finalize() find nothing.
// finalize() may run again (e.g. after set_module_end()); it keeps what it already merged.
//
// Rules (the classic klogd bugs are the reason for each):
//  - Only symbols that name a place in kernel memory are kept: absolute (`a`/`A`, e.g. per-cpu
//    offsets), undefined (`U`), debugging (`N`/`n`), `?` and `-` are dropped at add().
//  - Several symbols at one address keep one name, chosen deterministically (independent of the
//    input order): strong before weak (`W`/`w`/`V`/`v`), global (upper case) before local, fewer
//    leading underscores, then the smallest name. So `T _printk` wins over a `t` alias.
//    Within one module the first symbol added at the address wins, as the kernel's %pS picks
//    the first in the module's symbol table (/proc/kallsyms lists them in that order).
//  - Size of a symbol = distance to the next symbol with a different address of the same module
//    (or of the core kernel). The last symbol of a module or of the table has the size given by
//    its end (module base + size from /proc/modules, or the table end), else an unknown size.
//  - lookup(): below the first symbol nothing matches; inside a symbol's size the symbol
//    matches; with an unknown size only the exact address matches (never a read past the end).
//  - Addresses, offsets and sizes are 64-bit everywhere.
class symbol_table {
  public:
    static constexpr std::uint32_t core = 0xffffffffU;  // module index of core kernel symbols

    // Which nm/kallsyms type letters name something lookups may answer with.
    static bool is_kept_type(char type) noexcept;

    void reserve(std::size_t symbols, std::size_t name_bytes);

    // Registers a module and returns its index for add(); end = base + size if known.
    std::uint32_t add_module(std::string_view name, std::optional<std::uint64_t> end = {});
    // Sets the end of a registered module; takes effect at the next finalize().
    void set_module_end(std::uint32_t module, std::uint64_t end);
    // Index of a module by name, if registered.
    std::optional<std::uint32_t> module_index(std::string_view name) const noexcept;

    // Adds one symbol; returns false (and keeps nothing) for types is_kept_type() refuses.
    bool add(std::uint64_t address, char type, std::string_view name, std::uint32_t module = core);

    // Sorts, merges duplicate addresses and computes sizes. `end` bounds the last core symbol.
    void finalize(std::optional<std::uint64_t> end = {});

    std::optional<symbol_match> lookup(std::uint64_t address) const noexcept;

    // Address of a symbol by name (linear scan; for start-up checks, not the hot path).
    std::optional<std::uint64_t> address_of(std::string_view name) const noexcept;

    std::size_t size() const noexcept { return entries_.empty() ? slots_.size() : entries_.size(); }
    bool empty() const noexcept { return size() == 0; }
    std::size_t module_count() const noexcept { return modules_.size(); }
    std::string_view module_name(std::uint32_t module) const noexcept;
    std::optional<std::uint64_t> module_end(std::uint32_t module) const noexcept;

    // Sorted access (after finalize()).
    std::uint64_t address_at(std::size_t index) const noexcept { return addresses_[index]; }
    std::string_view name_at(std::size_t index) const noexcept;
    char type_at(std::size_t index) const noexcept { return slots_[index].type; }
    std::uint32_t module_at(std::size_t index) const noexcept {
        return slots_[index].module == core_slot ? core : slots_[index].module;
    }
    std::optional<std::uint64_t> size_at(std::size_t index) const noexcept;

    // Lowest address and end (exclusive: last address + size, or + 1 when unknown); 0/0 if empty.
    std::uint64_t lowest_address() const noexcept;
    std::uint64_t highest_end() const noexcept;

  private:
    // While the table is built (add() to finalize()): one entry per symbol added.
    struct entry {
        std::uint64_t address;
        std::uint32_t name_offset;
        std::uint32_t name_length;
        std::uint32_t module;
        char type;
    };
    // Once finalized, the compact form: addresses_[i] and slots_[i] (16 bytes; the build
    // entries are freed). A size is the distance to the next address (64-bit) or, for the last
    // symbol of a module or table, its end (up to 4 GiB, else unknown); names up to 64 KiB,
    // 65534 modules.
    struct slot {
        std::uint32_t name_offset;
        std::uint32_t end_size;  // size_kind::end: the size
        std::uint16_t name_length;
        std::uint16_t module;  // core_slot for the core kernel
        char type;
        std::uint8_t size_kind;  // how its (64-bit) size is known
    };
    enum size_kind : std::uint8_t { unknown_size = 0, to_next = 1, to_end = 2 };
    [[nodiscard]] std::uint64_t slot_size(std::size_t index) const noexcept;  // 0 = unknown
    static constexpr std::uint16_t core_slot = 0xffff;
    // Back to the build form (add() or finalize() after a finalize()).
    void unpack();
    struct module_info {
        std::string name;
        std::optional<std::uint64_t> end;
    };

    static bool better(const entry& a, std::string_view a_name, const entry& b,
                       std::string_view b_name) noexcept;

    void build_index();
    std::size_t candidate(std::uint64_t address) const noexcept;  // index of last <= address

    std::vector<entry> entries_;
    std::vector<slot> slots_;
    std::vector<std::uint64_t> addresses_;  // slots_[i]'s address, dense for the search
    // Bucket index over addresses_: bucket b covers [low + (b << shift_), low + (b+1 << shift_))
    // and its symbols are addresses_[buckets_[b], buckets_[b + 1]); lookups search only there.
    std::vector<std::uint32_t> buckets_;
    unsigned shift_ = 0;
    std::string names_;
    std::vector<module_info> modules_;
    std::optional<std::uint64_t> end_;
    bool finalized_ = false;
};

}  // namespace klog::symbols
