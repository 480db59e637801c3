#include "klog/symbols/symbol_table.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace klog::symbols {

namespace {

bool is_weak(char type) noexcept {
    return type == 'W' || type == 'w' || type == 'V' || type == 'v';
}

bool is_local(char type) noexcept { return type >= 'a' && type <= 'z'; }

std::size_t leading_underscores(std::string_view name) noexcept {
    std::size_t n = 0;
    while (n < name.size() && name[n] == '_') ++n;
    return n;
}

}  // namespace

bool symbol_table::is_kept_type(char type) noexcept {
    switch (type) {
        case 'A':  // absolute: not an address (per-cpu offsets, linker constants)
        case 'a':
        case 'U':  // undefined
        case 'u':  // undefined, as a module still in its init shows them (with the core address)
        case 'N':  // debugging
        case 'n':
        case '?':
        case '-':
            return false;
        default:
            return (type >= 'A' && type <= 'Z') || (type >= 'a' && type <= 'z');
    }
}

void symbol_table::unpack() {
    if (!entries_.empty() || slots_.empty()) return;
    entries_.reserve(slots_.size());
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        const slot& sl = slots_[i];
        entries_.push_back(entry{addresses_[i], sl.name_offset, sl.name_length,
                                 sl.module == core_slot ? core : sl.module, sl.type});
    }
    slots_.clear();
    slots_.shrink_to_fit();
    addresses_.clear();
    addresses_.shrink_to_fit();
    finalized_ = false;
}

void symbol_table::reserve(std::size_t symbols, std::size_t name_bytes) {
    entries_.reserve(symbols);
    names_.reserve(name_bytes);
}

std::uint32_t symbol_table::add_module(std::string_view name, std::optional<std::uint64_t> end) {
    if (modules_.size() >= core_slot) throw std::length_error("symbol_table: too many modules");
    modules_.push_back(module_info{std::string(name), end});
    return static_cast<std::uint32_t>(modules_.size() - 1);
}

void symbol_table::set_module_end(std::uint32_t module, std::uint64_t end) {
    if (module < modules_.size()) modules_[module].end = end;
}

std::optional<std::uint32_t> symbol_table::module_index(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < modules_.size(); ++i) {
        if (modules_[i].name == name) return static_cast<std::uint32_t>(i);
    }
    return std::nullopt;
}

bool symbol_table::add(std::uint64_t address, char type, std::string_view name,
                       std::uint32_t module) {
    if (!is_kept_type(type) || name.empty() || name.size() > 0xffff) return false;
    if (names_.size() + name.size() > std::numeric_limits<std::uint32_t>::max()) {
        throw std::length_error("symbol_table: names exceed 4 GiB");
    }
    unpack();
    entries_.push_back(entry{address, static_cast<std::uint32_t>(names_.size()),
                             static_cast<std::uint32_t>(name.size()),
                             module < modules_.size() ? module : core, type});
    names_.append(name);
    finalized_ = false;
    return true;
}

bool symbol_table::better(const entry& a, std::string_view a_name, const entry& b,
                          std::string_view b_name) noexcept {
    if (is_weak(a.type) != is_weak(b.type)) return !is_weak(a.type);
    if (is_local(a.type) != is_local(b.type)) return !is_local(a.type);
    const auto ua = leading_underscores(a_name);
    const auto ub = leading_underscores(b_name);
    if (ua != ub) return ua < ub;
    if (a_name != b_name) return a_name < b_name;
    if (a.type != b.type) return a.type < b.type;
    return a.module < b.module;
}

void symbol_table::finalize(std::optional<std::uint64_t> end) {
    end_ = end;
    unpack();
    const auto by_address = [](const entry& a, const entry& b) { return a.address < b.address; };
    if (!std::is_sorted(entries_.begin(), entries_.end(), by_address)) {
        // Stable: a module's symbols at one address keep the order they came in.
        std::stable_sort(entries_.begin(), entries_.end(), by_address);
    }

    // Keep the best name of each run of equal addresses.
    std::size_t out = 0;
    for (std::size_t i = 0; i < entries_.size();) {
        std::size_t best = i;
        std::size_t j = i + 1;
        for (; j < entries_.size() && entries_[j].address == entries_[i].address; ++j) {
            const entry& e = entries_[j];
            const entry& b = entries_[best];
            // Within a module the kernel's %pS names the first symbol of its symbol table at
            // an address (kernel/module/kallsyms.c find_kallsyms_symbol), which /proc/kallsyms
            // lists in that order: `klogd_test_init` before its alias `init_module`.
            if (e.module != core && e.module == b.module) continue;
            if (better(e, std::string_view(names_).substr(e.name_offset, e.name_length), b,
                       std::string_view(names_).substr(b.name_offset, b.name_length))) {
                best = j;
            }
        }
        entries_[out++] = entries_[best];
        i = j;
    }
    entries_.resize(out);

    // The compact form; sizes: to the next symbol of the same module, else to the known end
    // of the module/table.
    addresses_.resize(entries_.size());
    slots_.resize(entries_.size());
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        const entry& e = entries_[i];
        std::uint8_t kind = unknown_size;
        std::uint64_t size = 0;
        const bool has_next = i + 1 < entries_.size();
        if (has_next && entries_[i + 1].module == e.module) {
            kind = to_next;
        } else {
            const std::optional<std::uint64_t> limit =
                e.module == core ? end_ : modules_[e.module].end;
            if (limit && *limit > e.address) {
                if (has_next && entries_[i + 1].address <= *limit) {
                    kind = to_next;
                } else {
                    size = *limit - e.address;
                    kind = size <= std::numeric_limits<std::uint32_t>::max() ? to_end : unknown_size;
                }
            }
        }
        addresses_[i] = e.address;
        slots_[i] = slot{e.name_offset,
                         kind == to_end ? static_cast<std::uint32_t>(size) : 0U,
                         static_cast<std::uint16_t>(e.name_length),
                         e.module == core ? core_slot : static_cast<std::uint16_t>(e.module),
                         e.type,
                         kind};
    }
    // The build form goes: an idle daemon keeps 24 bytes per symbol, not 56.
    entries_.clear();
    entries_.shrink_to_fit();
    build_index();
    finalized_ = true;
}

void symbol_table::build_index() {
    buckets_.clear();
    shift_ = 0;
    if (addresses_.empty()) return;
    if (addresses_.size() >= std::numeric_limits<std::uint32_t>::max()) {
        throw std::length_error("symbol_table: too many symbols");
    }
    // About four symbols per bucket on average: the bucket array stays a quarter of the
    // address array, and a lookup touches one bucket and a cache line or two of addresses.
    const std::uint64_t span = addresses_.back() - addresses_.front();
    const std::uint64_t wanted = std::max<std::uint64_t>(1, addresses_.size() / 4);
    while (shift_ < 63 && (span >> shift_) >= wanted) ++shift_;
    const std::uint64_t count = (span >> shift_) + 1;
    buckets_.resize(static_cast<std::size_t>(count) + 1);
    std::size_t i = 0;
    for (std::uint64_t b = 0; b < count; ++b) {
        const std::uint64_t start = addresses_.front() + (b << shift_);
        while (i < addresses_.size() && addresses_[i] < start) ++i;
        buckets_[static_cast<std::size_t>(b)] = static_cast<std::uint32_t>(i);
    }
    buckets_.back() = static_cast<std::uint32_t>(addresses_.size());
}

std::size_t symbol_table::candidate(std::uint64_t address) const noexcept {
    // Caller guarantees addresses_.front() <= address.
    const std::uint64_t b = (address - addresses_.front()) >> shift_;
    if (b + 1 >= buckets_.size()) return addresses_.size() - 1;  // at or past the last symbol
    const auto first = addresses_.begin() + buckets_[static_cast<std::size_t>(b)];
    const auto last = addresses_.begin() + buckets_[static_cast<std::size_t>(b) + 1];
    // Symbols of this bucket are <= address up to upper_bound; if none is, the answer is the
    // last symbol of an earlier bucket, i.e. the one just before `first`.
    return static_cast<std::size_t>(std::upper_bound(first, last, address) - addresses_.begin()) -
           1;
}

std::optional<symbol_match> symbol_table::lookup(std::uint64_t address) const noexcept {
    if (!finalized_) return std::nullopt;
    if (addresses_.empty() || address < addresses_.front()) return std::nullopt;  // below
    const std::size_t i = candidate(address);
    const slot& e = slots_[i];
    const std::uint64_t offset = address - addresses_[i];
    const std::uint64_t size = slot_size(i);
    if (size == 0 ? offset != 0 : offset >= size) return std::nullopt;
    symbol_match m;
    m.name = std::string_view(names_).substr(e.name_offset, e.name_length);
    m.offset = offset;
    if (size != 0) m.size = size;
    if (e.module != core_slot) m.module = modules_[e.module].name;
    return m;
}

std::optional<std::uint64_t> symbol_table::address_of(std::string_view name) const noexcept {
    const std::string_view names(names_);
    for (const entry& e : entries_) {
        if (names.substr(e.name_offset, e.name_length) == name) return e.address;
    }
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (names.substr(slots_[i].name_offset, slots_[i].name_length) == name) {
            return addresses_[i];
        }
    }
    return std::nullopt;
}

std::string_view symbol_table::module_name(std::uint32_t module) const noexcept {
    return module < modules_.size() ? std::string_view(modules_[module].name) : std::string_view();
}

std::optional<std::uint64_t> symbol_table::module_end(std::uint32_t module) const noexcept {
    return module < modules_.size() ? modules_[module].end : std::nullopt;
}

std::string_view symbol_table::name_at(std::size_t index) const noexcept {
    const slot& e = slots_[index];
    return std::string_view(names_).substr(e.name_offset, e.name_length);
}

std::uint64_t symbol_table::slot_size(std::size_t index) const noexcept {
    switch (slots_[index].size_kind) {
        case to_next:
            return addresses_[index + 1] - addresses_[index];
        case to_end:
            return slots_[index].end_size;
        default:
            return 0;
    }
}

std::optional<std::uint64_t> symbol_table::size_at(std::size_t index) const noexcept {
    const auto s = slot_size(index);
    return s == 0 ? std::nullopt : std::optional<std::uint64_t>(s);
}

std::uint64_t symbol_table::lowest_address() const noexcept {
    return addresses_.empty() ? 0 : addresses_.front();
}

std::uint64_t symbol_table::highest_end() const noexcept {
    if (slots_.empty()) return 0;
    const std::uint64_t address = addresses_.back();
    const std::uint64_t size = slot_size(slots_.size() - 1);
    const std::uint64_t span = size == 0 ? 1 : size;
    const std::uint64_t end = address + span;
    return end < address ? std::numeric_limits<std::uint64_t>::max() : end;
}

}  // namespace klog::symbols
