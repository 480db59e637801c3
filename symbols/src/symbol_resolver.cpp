#include "klog/symbols/symbol_resolver.hpp"

#include <algorithm>

namespace klog::symbols {

namespace {

// x86_64: the kernel image lives in [__START_KERNEL_map, MODULES_VADDR), modules in
// [MODULES_VADDR, MODULES_END) (arch/x86/include/asm/pgtable_64_types.h).
constexpr std::uint64_t x86_64_image_low = 0xffffffff80000000ULL;
constexpr std::uint64_t x86_64_modules_low = 0xffffffffc0000000ULL;
constexpr std::uint64_t x86_64_modules_high = 0xffffffffff000000ULL;

}  // namespace

void symbol_resolver::set_kernel(symbol_table table, std::uint64_t offset) {
    kernel_ = std::move(table);
    offset_ = offset;
    if (!area_explicit_) {
        area_.reset();
        if (!kernel_.empty()) {
            const std::uint64_t low = kernel_.lowest_address() + offset_;
            if (low >= x86_64_image_low && low < x86_64_modules_low) {
                area_ = std::make_pair(x86_64_modules_low, x86_64_modules_high);
            }
        }
    }
}

void symbol_resolver::set_modules(symbol_table table, module_list list) {
    modules_ = std::move(table);
    module_ranges_.clear();
    bool new_ends = false;
    for (const module_list::module& m : list.modules()) {
        if (!m.base || m.size == 0) continue;
        module_ranges_.emplace_back(*m.base, *m.base + m.size);
        const auto id = modules_.module_index(m.name);
        if (id && modules_.module_end(*id) != m.end()) {
            modules_.set_module_end(*id, *m.end());
            new_ends = true;
        }
    }
    if (new_ends) modules_.finalize();  // sizes of each module's last symbol
    update_module_bounds();
}

void symbol_resolver::clear_kernel() noexcept {
    kernel_ = symbol_table();
    offset_ = 0;
    if (!area_explicit_) area_.reset();
}

void symbol_resolver::clear_modules() noexcept {
    modules_ = symbol_table();
    module_ranges_.clear();
    update_module_bounds();
}

void symbol_resolver::set_module_area(std::uint64_t low, std::uint64_t high) noexcept {
    area_ = std::make_pair(low, high);
    area_explicit_ = true;
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> symbol_resolver::module_area()
    const noexcept {
    return area_;
}

void symbol_resolver::update_module_bounds() noexcept {
    modules_low_ = 0;
    modules_high_ = 0;
    bool any = false;
    const auto widen = [&](std::uint64_t low, std::uint64_t high) {
        if (!any) {
            modules_low_ = low;
            modules_high_ = high;
            any = true;
        } else {
            modules_low_ = std::min(modules_low_, low);
            modules_high_ = std::max(modules_high_, high);
        }
    };
    if (!modules_.empty()) widen(modules_.lowest_address(), modules_.highest_end());
    for (const auto& [low, high] : module_ranges_) widen(low, high);
}

void symbol_resolver::module_loaded(std::string_view name, std::uint64_t usec) {
    loaded_usec_[std::string(name)] = usec;
}

bool symbol_resolver::module_unloaded(std::string_view name, std::uint64_t usec) {
    const auto id = modules_.module_index(name);
    if (!id) {
        loaded_usec_.erase(std::string(name));
        return false;  // never loaded here: nothing to keep
    }
    unloaded_module m;
    m.name = std::string(name);
    const auto local = m.table.add_module(name, modules_.module_end(*id));
    for (std::size_t i = 0; i < modules_.size(); ++i) {
        if (modules_.module_at(i) != *id) continue;
        if (const auto pfx = modules_.pfx_at(i)) {
            m.table.add(modules_.address_at(i) - pfx, modules_.type_at(i), modules_.pfx_name_at(i),
                        local);
        }
        m.table.add(modules_.address_at(i), modules_.type_at(i), modules_.name_at(i), local);
    }
    m.table.finalize();
    if (const auto it = loaded_usec_.find(name); it != loaded_usec_.end()) {
        m.loaded_usec = it->second;
        loaded_usec_.erase(it);
    }
    m.unloaded_usec = usec;
    history_.push_back(std::move(m));
    while (history_.size() > max_history) history_.pop_front();
    return true;
}

std::optional<symbol_match> symbol_resolver::lookup_history(std::uint64_t address) const noexcept {
    if (record_usec_) {
        // The first module unloaded after the record was printed that holds the address: it
        // was loaded then (an event is seen after it happened, so its time is never early).
        for (const auto& m : history_) {
            if (*record_usec_ > m.unloaded_usec) continue;
            if (auto match = m.table.lookup(address)) return match;
        }
        return std::nullopt;
    }
    for (auto it = history_.rbegin(); it != history_.rend(); ++it) {  // newest first
        if (auto match = it->table.lookup(address)) return match;
    }
    return std::nullopt;
}

std::optional<symbol_match> symbol_resolver::lookup(std::uint64_t address) const noexcept {
    if (address >= modules_low_ && address < modules_high_) {
        if (auto m = modules_.lookup(address)) {
            // Printed before this module was loaded: a module unloaded since held the address.
            if (record_usec_ && !history_.empty()) {
                const auto it = loaded_usec_.find(m->module);
                if (it != loaded_usec_.end() && *record_usec_ < it->second) {
                    if (auto old = lookup_history(address)) return old;
                }
            }
            return m;
        }
    }
    if (!history_.empty()) {
        if (auto m = lookup_history(address)) return m;
    }
    return kernel_.lookup(address - offset_);
}

bool symbol_resolver::in_module_area(std::uint64_t address) const noexcept {
    return (area_ && address >= area_->first && address < area_->second) ||
           (address >= modules_low_ && address < modules_high_);
}

bool symbol_resolver::unknown_module_address(std::uint64_t address) const noexcept {
    if (!in_module_area(address)) return false;
    if (modules_.lookup(address) || kernel_.lookup(address - offset_)) return false;
    for (const auto& m : history_) {
        if (m.table.lookup(address)) return false;
    }
    for (const auto& [low, high] : module_ranges_) {
        if (address >= low && address < high) return false;
    }
    return true;
}

}  // namespace klog::symbols
