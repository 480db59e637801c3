#include "klog/symbols/symbol_table.hpp"

#include <algorithm>
#include <cstring>
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
    finalized_ = false;
    ends_.clear();
    ends_.shrink_to_fit();
    buckets_.clear();
    buckets_.shrink_to_fit();
    std::size_t folded = 0;
    for (slot& s : slots_) {
        s.type &= type_mask;
        if (s.pfx != 0) ++folded;
    }
    if (folded == 0) return;
    std::vector<std::uint64_t> addresses;
    std::vector<slot> slots;
    std::vector<std::uint16_t> modules;
    addresses.reserve(addresses_.size() + folded);
    slots.reserve(addresses_.size() + folded);
    if (!modules_of_.empty()) modules.reserve(addresses_.size() + folded);
    for (std::size_t i = 0; i < addresses_.size(); ++i) {
        slot s = slots_[i];
        if (s.pfx != 0) {
            addresses.push_back(addresses_[i] - s.pfx);
            slots.push_back(slot{static_cast<std::uint32_t>(s.name - pfx_prefix.size()),
                                 static_cast<std::uint16_t>(s.length + pfx_prefix.size()), s.type,
                                 0});
            if (!modules_of_.empty()) modules.push_back(modules_of_[i]);
            s.pfx = 0;
        }
        addresses.push_back(addresses_[i]);
        slots.push_back(s);
        if (!modules_of_.empty()) modules.push_back(modules_of_[i]);
    }
    addresses_ = std::move(addresses);
    slots_ = std::move(slots);
    modules_of_ = std::move(modules);
}

void symbol_table::reserve(std::size_t symbols) {
    addresses_.reserve(symbols);
    slots_.reserve(symbols);
}

symbol_table::name_arena& symbol_table::name_arena::operator=(const name_arena& other) {
    if (this == &other) return *this;
    blocks_.clear();
    for (std::size_t b = 0; b < other.blocks_.size(); ++b) {
        const std::size_t n = b + 1 == other.blocks_.size() ? other.used_ : block_size;
        blocks_.emplace_back(new char[block_size]);
        std::memcpy(blocks_.back().get(), other.blocks_[b].get(), n);
    }
    used_ = other.used_;
    return *this;
}

void symbol_table::name_arena::add_block() {
    if (blocks_.size() >= 0x10000) throw std::length_error("symbol_table: names exceed 4 GiB");
    blocks_.emplace_back(new char[block_size]);  // not value-initialised: pages untouched
    used_ = 0;
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
    if (!is_kept_type(type) || name.empty() || name.size() >= name_arena::block_size ||
        name.find('\0') != std::string_view::npos) {
        return false;
    }
    if (addresses_.size() >= std::numeric_limits<std::uint32_t>::max() - 1) {
        throw std::length_error("symbol_table: too many symbols");
    }
    if (finalized_ || !ends_.empty()) unpack();
    std::uint32_t offset = 0;
    // `__pfx_F` followed by F (kallsyms and System.map list them so): F's name is the tail of
    // the bytes already stored.
    if (last_pfx_name_ && std::string_view(names_.at(*last_pfx_name_)).substr(pfx_prefix.size()) ==
                              name) {
        offset = *last_pfx_name_ + static_cast<std::uint32_t>(pfx_prefix.size());
        last_pfx_name_.reset();
    } else {
        offset = names_.append(name);
        last_pfx_name_.reset();
        if (name.size() > pfx_prefix.size() && name.substr(0, pfx_prefix.size()) == pfx_prefix) {
            last_pfx_name_ = offset;
        }
    }
    const std::uint16_t m =
        module < modules_.size() ? static_cast<std::uint16_t>(module) : core_slot;
    // The first module symbol: the symbols before it are core symbols.
    if (m != core_slot && modules_of_.empty()) modules_of_.assign(addresses_.size(), core_slot);
    addresses_.push_back(address);
    slots_.push_back(slot{offset, static_cast<std::uint16_t>(name.size()),
                          static_cast<std::uint8_t>(type), 0});
    if (m != core_slot || !modules_of_.empty()) modules_of_.push_back(m);
    return true;
}

bool symbol_table::better(std::size_t ai, std::size_t bi) const noexcept {
    const slot& a = slots_[ai];
    const slot& b = slots_[bi];
    const char at = static_cast<char>(a.type);
    const char bt = static_cast<char>(b.type);
    if (is_weak(at) != is_weak(bt)) return !is_weak(at);
    if (is_local(at) != is_local(bt)) return !is_local(at);
    const std::string_view a_name = name_of(a);
    const std::string_view b_name = name_of(b);
    const auto ua = leading_underscores(a_name);
    const auto ub = leading_underscores(b_name);
    if (ua != ub) return ua < ub;
    if (a_name != b_name) return a_name < b_name;
    if (at != bt) return at < bt;
    return module_of(ai) < module_of(bi);
}

void symbol_table::sort_entries() {
    if (std::is_sorted(addresses_.begin(), addresses_.end())) return;
    // Stable: a module's symbols at one address keep the order they came in.
    struct entry {
        std::uint64_t address;
        slot s;
        std::uint16_t module;
    };
    std::vector<entry> all;
    all.reserve(addresses_.size());
    for (std::size_t i = 0; i < addresses_.size(); ++i) {
        all.push_back(entry{addresses_[i], slots_[i], module_of(i)});
    }
    std::stable_sort(all.begin(), all.end(),
                     [](const entry& a, const entry& b) { return a.address < b.address; });
    for (std::size_t i = 0; i < all.size(); ++i) {
        addresses_[i] = all[i].address;
        slots_[i] = all[i].s;
        if (!modules_of_.empty()) modules_of_[i] = all[i].module;
    }
}

void symbol_table::merge_duplicates() {
    // Keep the best name of each run of equal addresses.
    std::size_t out = 0;
    for (std::size_t i = 0; i < addresses_.size();) {
        std::size_t best = i;
        std::size_t j = i + 1;
        for (; j < addresses_.size() && addresses_[j] == addresses_[i]; ++j) {
            // Within a module the kernel's %pS names the first symbol of its symbol table at
            // an address (kernel/module/kallsyms.c find_kallsyms_symbol), which /proc/kallsyms
            // lists in that order: `klogd_test_init` before its alias `init_module`.
            if (module_of(j) != core_slot && module_of(j) == module_of(best)) continue;
            if (better(j, best)) best = j;
        }
        addresses_[out] = addresses_[best];
        slots_[out] = slots_[best];
        if (!modules_of_.empty()) modules_of_[out] = modules_of_[best];
        ++out;
        i = j;
    }
    addresses_.resize(out);
    slots_.resize(out);
    if (!modules_of_.empty()) modules_of_.resize(out);
}

void symbol_table::fold_padding() {
    std::size_t out = 0;
    for (std::size_t i = 0; i < addresses_.size(); ++i) {
        const slot& p = slots_[i];
        if (i + 1 < addresses_.size()) {
            slot& f = slots_[i + 1];
            const std::string_view pname = name_of(p);
            const std::uint64_t distance = addresses_[i + 1] - addresses_[i];
            if (p.pfx == 0 && pname.size() > pfx_prefix.size() &&
                pname.substr(0, pfx_prefix.size()) == pfx_prefix &&
                module_of(i + 1) == module_of(i) &&
                distance <= std::numeric_limits<std::uint8_t>::max() &&
                name_of(f) == pname.substr(pfx_prefix.size())) {
                // F's name now is the tail of `__pfx_F` (its own copy, if any, is left behind
                // and dropped by compact_names()).
                f.name = p.name + static_cast<std::uint32_t>(pfx_prefix.size());
                f.pfx = static_cast<std::uint8_t>(distance);
                continue;  // the __pfx_ symbol is no entry of its own
            }
        }
        addresses_[out] = addresses_[i];
        slots_[out] = slots_[i];
        if (!modules_of_.empty()) modules_of_[out] = modules_of_[i];
        ++out;
    }
    addresses_.resize(out);
    slots_.resize(out);
    if (!modules_of_.empty()) modules_of_.resize(out);
}

void symbol_table::compute_sizes() {
    // To the start of the next symbol of the same module; else to the known end of the
    // module/table (or to the next symbol, if that lies within the end).
    ends_.clear();
    for (std::size_t i = 0; i < addresses_.size(); ++i) {
        slot& e = slots_[i];
        const bool has_next = i + 1 < addresses_.size();
        const std::uint16_t m = module_of(i);
        if (has_next && module_of(i + 1) == m) continue;
        const std::optional<std::uint64_t> limit = m == core_slot ? end_ : modules_[m].end;
        std::uint32_t size = 0;  // unknown
        if (limit && *limit > addresses_[i]) {
            if (has_next && start_of(i + 1) <= *limit) continue;
            const std::uint64_t s = *limit - addresses_[i];
            if (s <= std::numeric_limits<std::uint32_t>::max()) size = static_cast<std::uint32_t>(s);
        }
        e.type |= ends_bit;
        ends_.emplace_back(static_cast<std::uint32_t>(i), size);
    }
}

void symbol_table::compact_names() {
    // Names of symbols merged away (aliases) and second copies of folded names stay in the
    // arena until here; rebuild it when they are more than an eighth of it.
    std::size_t used = 0;
    for (const slot& s : slots_) {
        used += name_of(s).size() + 1 + (s.pfx != 0 ? pfx_prefix.size() : 0);
    }
    if (used + used / 8 >= names_.bytes()) return;
    name_arena names;
    std::string pfx_name;
    for (slot& s : slots_) {
        const std::string_view name = name_of(s);
        if (s.pfx != 0) {
            pfx_name.assign(pfx_prefix).append(name);
            s.name = names.append(pfx_name) + static_cast<std::uint32_t>(pfx_prefix.size());
        } else {
            s.name = names.append(name);
        }
    }
    names_ = std::move(names);
}

void symbol_table::finalize(std::optional<std::uint64_t> end) {
    end_ = end;
    unpack();
    last_pfx_name_.reset();
    sort_entries();
    merge_duplicates();
    fold_padding();
    compute_sizes();
    compact_names();
    addresses_.shrink_to_fit();
    slots_.shrink_to_fit();
    modules_of_.shrink_to_fit();
    ends_.shrink_to_fit();
    build_index();
    finalized_ = true;
}

void symbol_table::build_index() {
    buckets_.clear();
    shift_ = 0;
    if (addresses_.empty()) return;
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
    if (!finalized_ || addresses_.empty() || address < start_of(0)) return std::nullopt;
    std::size_t next = 0;  // the symbol after the candidate: its __pfx_ may hold the address
    std::optional<std::size_t> i;
    if (address >= addresses_.front()) {
        i = candidate(address);
        next = *i + 1;
    }
    symbol_match m;
    if (next < addresses_.size() && slots_[next].pfx != 0 && address >= start_of(next)) {
        m.name = pfx_name_at(next);
        m.offset = address - start_of(next);
        m.size = slots_[next].pfx;
        if (const auto mod = module_of(next); mod != core_slot) m.module = modules_[mod].name;
        return m;
    }
    if (!i) return std::nullopt;
    const slot& e = slots_[*i];
    const std::uint64_t offset = address - addresses_[*i];
    const std::uint64_t size = slot_size(*i);
    if (size == 0 ? offset != 0 : offset >= size) return std::nullopt;
    m.name = name_of(e);
    m.offset = offset;
    if (size != 0) m.size = size;
    if (const auto mod = module_of(*i); mod != core_slot) m.module = modules_[mod].name;
    return m;
}

std::optional<std::uint64_t> symbol_table::address_of(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (name_of(slots_[i]) == name) return addresses_[i];
        if (slots_[i].pfx != 0 && pfx_name_at(i) == name) return start_of(i);
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
    return name_of(slots_[index]);
}

std::string_view symbol_table::pfx_name_at(std::size_t index) const noexcept {
    if (slots_[index].pfx == 0) return {};
    return std::string_view(
        names_.at(slots_[index].name - static_cast<std::uint32_t>(pfx_prefix.size())),
        slots_[index].length + pfx_prefix.size());
}

std::uint64_t symbol_table::slot_size(std::size_t index) const noexcept {
    if ((slots_[index].type & ends_bit) == 0) return start_of(index + 1) - addresses_[index];
    const auto it = std::lower_bound(
        ends_.begin(), ends_.end(), static_cast<std::uint32_t>(index),
        [](const std::pair<std::uint32_t, std::uint32_t>& e, std::uint32_t i) { return e.first < i; });
    return it != ends_.end() && it->first == index ? it->second : 0;
}

std::optional<std::uint64_t> symbol_table::size_at(std::size_t index) const noexcept {
    const auto s = slot_size(index);
    return s == 0 ? std::nullopt : std::optional<std::uint64_t>(s);
}

std::uint64_t symbol_table::lowest_address() const noexcept {
    return addresses_.empty() ? 0 : start_of(0);
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
