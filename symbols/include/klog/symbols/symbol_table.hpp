#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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

    void reserve(std::size_t symbols);  // names grow block by block, nothing to reserve

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

    // Stored symbols (after finalize(): sorted, `__pfx_` symbols folded into their function).
    std::size_t size() const noexcept { return addresses_.size(); }
    bool empty() const noexcept { return size() == 0; }
    std::size_t module_count() const noexcept { return modules_.size(); }
    std::string_view module_name(std::uint32_t module) const noexcept;
    std::optional<std::uint64_t> module_end(std::uint32_t module) const noexcept;

    // Sorted access (after finalize()).
    std::uint64_t address_at(std::size_t index) const noexcept { return addresses_[index]; }
    std::string_view name_at(std::size_t index) const noexcept;
    char type_at(std::size_t index) const noexcept {
        return static_cast<char>(slots_[index].type & type_mask);
    }
    std::uint32_t module_at(std::size_t index) const noexcept {
        const auto m = module_of(index);
        return m == core_slot ? core : m;
    }
    std::optional<std::uint64_t> size_at(std::size_t index) const noexcept;
    // The `__pfx_NAME` padding symbol folded into symbol `index` (CONFIG_CALL_PADDING: one
    // before every function): how many bytes before it it starts, 0 when there is none. Its
    // name is pfx_name_at(); it is found by lookup() like any other.
    std::uint32_t pfx_at(std::size_t index) const noexcept { return slots_[index].pfx; }
    std::string_view pfx_name_at(std::size_t index) const noexcept;

    // Lowest address (a folded `__pfx_` symbol's) and end (exclusive: last address + size, or
    // + 1 when unknown); 0/0 if empty.
    std::uint64_t lowest_address() const noexcept;
    std::uint64_t highest_end() const noexcept;

  private:
    // Compact from the start: addresses_[i] and slots_[i] (8 bytes), names NUL-terminated in
    // one arena. About half of a recent x86_64 kernel's symbols are `__pfx_F` padding symbols
    // right before F: F's name points into the bytes of `__pfx_F` and, once finalized, the
    // `__pfx_` symbol is no entry of its own but F's `pfx` (its distance before F): 16 bytes
    // per symbol and one copy of each name, where a plain table of (address, size, name) would
    // need twice the entries and names.
    //
    // A size is the distance to the start of the next symbol (its `__pfx_` if it has one);
    // the last symbol of a module or of the table is marked in its type byte (ends_bit) and
    // its size (up to 4 GiB, 0: unknown) is in ends_.
    struct slot {
        std::uint32_t name;    // position in names_
        std::uint16_t length;  // of the name (a lookup never touches the name's bytes)
        std::uint8_t type;     // the type letter, | ends_bit
        std::uint8_t pfx;      // distance of a folded __pfx_ symbol before it, 0: none
    };
    static constexpr std::uint8_t ends_bit = 0x80;
    static constexpr std::uint8_t type_mask = 0x7f;
    static constexpr std::uint16_t core_slot = 0xffff;
    static constexpr std::string_view pfx_prefix = "__pfx_";

    std::string_view name_of(const slot& s) const noexcept {
        return std::string_view(names_.at(s.name), s.length);
    }
    // The module of symbol `index` (core_slot for the core kernel): a table without module
    // symbols (the core kernel's) keeps no per-symbol module at all.
    std::uint16_t module_of(std::size_t index) const noexcept {
        return modules_of_.empty() ? core_slot : modules_of_[index];
    }
    [[nodiscard]] std::uint64_t slot_size(std::size_t index) const noexcept;  // 0 = unknown
    [[nodiscard]] std::uint64_t start_of(std::size_t index) const noexcept {
        return addresses_[index] - slots_[index].pfx;
    }
    // Back to one entry per symbol (add() or finalize() after a finalize()).
    void unpack();
    void sort_entries();
    void merge_duplicates();
    void fold_padding();
    void compute_sizes();
    void compact_names();
    struct module_info {
        std::string name;
        std::optional<std::uint64_t> end;
    };

    bool better(std::size_t a, std::size_t b) const noexcept;

    void build_index();
    std::size_t candidate(std::uint64_t address) const noexcept;  // index of last <= address

    std::vector<std::uint64_t> addresses_;
    std::vector<slot> slots_;
    std::vector<std::uint16_t> modules_of_;  // per symbol; empty while all are core symbols
    std::vector<std::pair<std::uint32_t, std::uint32_t>> ends_;  // (index, size), by index
    // Bucket index over addresses_: bucket b covers [low + (b << shift_), low + (b+1 << shift_))
    // and its symbols are addresses_[buckets_[b], buckets_[b + 1]); lookups search only there.
    std::vector<std::uint32_t> buckets_;
    unsigned shift_ = 0;
    // NUL-terminated names in blocks of 64 KiB that never move: growing copies nothing, and
    // the untouched end of the last block costs no memory (a whole-arena string would, when
    // it doubles). A position is block << 16 | offset.
    class name_arena {
      public:
        static constexpr std::size_t block_size = std::size_t{1} << 16;
        name_arena() = default;
        name_arena(const name_arena& other) { *this = other; }
        name_arena& operator=(const name_arena& other);
        name_arena(name_arena&&) noexcept = default;
        name_arena& operator=(name_arena&&) noexcept = default;

        // `name` (at most block_size - 1 bytes, no NUL) and its NUL. Inline: once per symbol.
        std::uint32_t append(std::string_view name) {
            if (blocks_.empty() || block_size - used_ < name.size() + 1) add_block();
            char* at = blocks_.back().get() + used_;
            std::memcpy(at, name.data(), name.size());
            at[name.size()] = '\0';
            const auto position = static_cast<std::uint32_t>(((blocks_.size() - 1) << 16) | used_);
            used_ += name.size() + 1;
            return position;
        }
        const char* at(std::uint32_t position) const noexcept {
            return blocks_[position >> 16].get() + (position & 0xffff);
        }
        std::size_t bytes() const noexcept {  // in use, the ends of full blocks included
            return blocks_.empty() ? 0 : (blocks_.size() - 1) * block_size + used_;
        }

      private:
        void add_block();  // a fresh last block, used_ = 0
        std::vector<std::unique_ptr<char[]>> blocks_;
        std::size_t used_ = 0;  // in the last block
    };
    name_arena names_;
    std::optional<std::uint32_t> last_pfx_name_;  // the last name added, if `__pfx_...`
    std::vector<module_info> modules_;
    std::optional<std::uint64_t> end_;
    bool finalized_ = false;
};

}  // namespace klog::symbols
