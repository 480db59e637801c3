#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "klog/symbols/module_list.hpp"
#include "klog/symbols/symbol_match.hpp"
#include "klog/symbols/symbol_table.hpp"

namespace klog::symbols {

// Answers "which symbol holds this runtime address": the core kernel table (from kallsyms, or a
// System.map plus the KASLR offset) and the module table (kallsyms `[mod]` lines). Both parts are
// replaced independently: SIGUSR1 reloads modules only, SIGUSR2 everything.
class symbol_resolver {
  public:
    // Core kernel symbols. `offset` is added to the table's addresses to get runtime addresses
    // (runtime `_text` − map `_text`; 0 for kallsyms). Arithmetic wraps modulo 2^64.
    void set_kernel(symbol_table table, std::uint64_t offset = 0);
    void set_kernel_offset(std::uint64_t offset) noexcept { offset_ = offset; }
    // Module symbols; `list` (/proc/modules) tells which address ranges belong to modules and
    // bounds the last symbol of each module (base + size).
    void set_modules(symbol_table table, module_list list = {});
    void clear_kernel() noexcept;
    void clear_modules() noexcept;

    // Where modules are mapped on this architecture, [low, high). By default it is set for
    // x86_64 (0xffffffffc0000000–0xffffffffff000000) when the kernel's runtime `_text` lies in
    // the x86_64 kernel image range, and unset otherwise.
    void set_module_area(std::uint64_t low, std::uint64_t high) noexcept;
    std::optional<std::pair<std::uint64_t, std::uint64_t>> module_area() const noexcept;

    std::optional<symbol_match> lookup(std::uint64_t address) const noexcept;

    // True when `address` looks like a module address (module mapping area, or between the
    // lowest and highest module address known) but no known module covers it: the module
    // symbols are probably stale. Only meaningful for addresses lookup() did not resolve.
    bool unknown_module_address(std::uint64_t address) const noexcept;
    // The module mapping area, or between the lowest and highest module address known.
    bool in_module_area(std::uint64_t address) const noexcept;

    // Module load and unload as the kernel announced them (uevents), at `usec` (the kernel's
    // clock: CLOCK_MONOTONIC, which printk time stamps follow). An unloaded module's table is
    // kept (the newest max_history), so records printed while it was loaded resolve against it
    // even when they are read after it went; a record printed before the current module at an
    // address was loaded resolves against the one unloaded after it was printed.
    void module_loaded(std::string_view name, std::uint64_t usec);
    // False when no table of that module was held (it went before its symbols were read).
    bool module_unloaded(std::string_view name, std::uint64_t usec);
    static constexpr std::size_t max_history = 32;
    [[nodiscard]] std::size_t history_size() const noexcept { return history_.size(); }
    // The kernel time of the record being resolved (none: resolve against the newest tables).
    // Field by field, not a whole copy: the record's time was stored a moment before (see
    // pipeline::on_record).
    void set_record_time(const std::optional<std::uint64_t>& usec) noexcept {
        if (usec.has_value()) {
            record_usec_.emplace(*usec);
        } else {
            record_usec_.reset();
        }
    }

    bool has_kernel() const noexcept { return !kernel_.empty(); }
    bool has_modules() const noexcept { return !modules_.empty(); }
    bool empty() const noexcept { return kernel_.empty() && modules_.empty(); }
    const symbol_table& kernel() const noexcept { return kernel_; }
    const symbol_table& modules() const noexcept { return modules_; }
    std::uint64_t kernel_offset() const noexcept { return offset_; }

  private:
    void update_module_bounds() noexcept;
    // A history entry that holds `address` and fits the record time, if any.
    std::optional<symbol_match> lookup_history(std::uint64_t address) const noexcept;

    struct unloaded_module {
        std::string name;
        symbol_table table;  // that module alone
        std::optional<std::uint64_t> loaded_usec;
        std::uint64_t unloaded_usec = 0;
    };
    std::deque<unloaded_module> history_;                    // oldest first
    std::map<std::string, std::uint64_t, std::less<>> loaded_usec_;  // current modules' loads
    std::optional<std::uint64_t> record_usec_;

    symbol_table kernel_;
    std::uint64_t offset_ = 0;
    symbol_table modules_;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> module_ranges_;  // from /proc/modules
    std::uint64_t modules_low_ = 0;  // lowest / highest module address known, [low, high)
    std::uint64_t modules_high_ = 0;
    std::optional<std::pair<std::uint64_t, std::uint64_t>> area_;
    bool area_explicit_ = false;
};

}  // namespace klog::symbols
