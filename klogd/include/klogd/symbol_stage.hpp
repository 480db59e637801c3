#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "klog/record_rewriter.hpp"
#include "klog/symbols/expander.hpp"
#include "klog/symbols/symbol_loader.hpp"
#include "klog/symbols/symbol_resolver.hpp"
#include "klogd/config.hpp"
#include "klogd/module_events.hpp"

namespace klogd {

/// Address resolution in the daemon: owns the symbol tables, expands kernel records, and
/// reloads tables when told to (USR1/USR2, -i/-I), when a message contains "Oops" (-p), on the
/// kernel's module uevents, and when an address falls in the module area but in no known
/// module while /proc/modules lists other modules than at the last load (a module whose init
/// prints: the kernel sends its add uevent only after init returned).
class symbol_stage final : public klog::record_rewriter {
  public:
    /// Where the loader's one-time statements go (which map, kptr_restrict, ...).
    using report_fn = std::function<void(const std::string&)>;

    symbol_stage(klog::symbols::symbol_loader::config cfg, bool oops_reload, bool print_both,
                 report_fn report);
    ~symbol_stage() override;
    symbol_stage(const symbol_stage&) = delete;
    symbol_stage& operator=(const symbol_stage&) = delete;

    /// reload_all() on a thread of its own (-o: a whole saved log is read once, and loading a
    /// large table was a tenth of its run time). Records that hold no address form go through
    /// meanwhile; the first one that holds one, and every other use of the tables, waits for
    /// the load (wait_loaded()).
    void load_in_background();
    /// Waits for a load_in_background() still running, then says what it found (through the
    /// report function, on this thread). Nothing when none runs. A load that failed (what
    /// reload_all() would have thrown) leaves every address raw from then on: load_failure().
    void wait_loaded();
    /// Why the background load failed (after wait_loaded()); none: it did not.
    [[nodiscard]] const std::optional<std::string>& load_failure() const noexcept {
        return background_failure_;
    }

    /// Loads everything (the daemon's start); throws what the loader throws.
    void load_all();
    /// Loads everything again (USR2); a load that fails is said (report) and leaves the tables
    /// as they were.
    void reload_all();
    /// Reloads module symbols only (USR1, -p on an Oops, a module's load); as reload_all().
    void reload_modules();
    /// USR2 (`all`) or USR1.
    void reload(bool all) { all ? reload_all() : reload_modules(); }
    /// The kernel announced a module load (its symbols are read now)
    /// or unload (its table is kept for the records it printed); `usec`: CLOCK_MONOTONIC.
    void module_added(std::string_view name, std::uint64_t usec);
    /// False when its symbols had not been read (loaded and gone before klogd read them).
    bool module_removed(std::string_view name, std::uint64_t usec);
    /// Called when a record has a module address, before its tables are trusted: the daemon
    /// handles the module events queued meanwhile (a module loaded while klogd was reading a
    /// batch).
    void set_event_poll(std::function<void()> poll) { poll_events_ = std::move(poll); }

    bool rewrite(const klog::record_view& record, std::string& out) override;
    [[nodiscard]] bool keep_original() const noexcept override { return print_both_; }

    /// The tables; after wait_loaded() when load_in_background() was called.
    [[nodiscard]] const klog::symbols::symbol_resolver& resolver() const noexcept {
        return resolver_;
    }

  private:
    void report(const std::vector<std::string>& lines) const;
    /// Runs a reload: what it throws is said, and the tables stay as they were.
    void reloading(const std::function<void()>& load);
    /// After load_in_background()'s load: its report (none when it failed).
    void loaded();
    static void release_load_buffers() noexcept;

    klog::symbols::symbol_loader loader_;
    klog::symbols::symbol_resolver resolver_;
    klog::symbols::expander expander_;
    bool oops_reload_;
    bool print_both_;
    report_fn report_;
    std::uint64_t module_loads_ = 0;  // counts reloads, so rewrite() sees one happened
    std::function<void()> poll_events_;
    // load_in_background(): what the thread found and threw, read after joining it.
    std::vector<std::string> background_report_;
    /// Set by the load; read only after the join: once set, nothing is expanded or reloaded.
    std::optional<std::string> background_failure_;
    std::thread loading_;
};

/// The symbol tables `cfg` asks for (-k, --kallsyms, --modules, and for a replay only those
/// named for it, placed by the log's own `Kernel Offset`); none with -x, or for a replay that
/// names none (said through `diag`).
[[nodiscard]] std::optional<klog::symbols::symbol_loader::config> symbol_tables(
    const config& cfg, const symbol_stage::report_fn& diag);

/// The symbol stage `cfg` asks for, its tables loaded (null with -x or a replay that names no
/// table). Where the tables came from is said through `diag` and, in the daemon, as a record
/// of the log itself through `notice` (as klogd always did); a one-shot dump keeps its output
/// to the kernel's records.
[[nodiscard]] std::unique_ptr<symbol_stage> make_symbol_stage(
    const config& cfg, const symbol_stage::report_fn& diag, const symbol_stage::report_fn& notice);

/// The kernel's module uevents feed `symbols` (a module's table read at its load, kept after its
/// unload); `diag` says each; `unavailable` says once why there are none (then only the
/// fallback reload remains). Null without a symbol stage (-x) or where module symbols do not
/// come from this kernel's /proc/kallsyms (a replay, another --kallsyms).
[[nodiscard]] std::unique_ptr<module_events> watch_module_events(
    boost::asio::io_context& io, const config& cfg, symbol_stage* symbols,
    const symbol_stage::report_fn& diag, const symbol_stage::report_fn& unavailable);

}  // namespace klogd
