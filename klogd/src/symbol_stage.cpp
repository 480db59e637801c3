#include "klogd/symbol_stage.hpp"

#include <malloc.h>

#include <system_error>
#include <utility>

#include "klog/symbols/kaslr.hpp"
#include "klogd/defaults.hpp"

namespace klogd {

symbol_stage::symbol_stage(klog::symbols::symbol_loader::config cfg, bool oops_reload,
                           bool print_both, report_fn report)
    : loader_(std::move(cfg)),
      expander_(resolver_),
      oops_reload_(oops_reload),
      print_both_(print_both),
      report_(std::move(report)) {}

symbol_stage::~symbol_stage() {
    if (loading_.joinable()) loading_.join();  // what it found is not wanted any more
}

void symbol_stage::load_in_background() {
    wait_loaded();
    const auto load = [this]() noexcept {
        try {
            background_report_ = loader_.load_all(resolver_);
            release_load_buffers();
        } catch (const std::exception& e) {
            background_failure_ = e.what();
        } catch (...) {
            background_failure_ = "unknown error";
        }
    };
    try {
        loading_ = std::thread(load);
    } catch (const std::system_error&) {
        load();  // no thread to be had (a task limit): here, before the first record
        loaded();
    }
}

void symbol_stage::wait_loaded() {
    if (!loading_.joinable()) return;
    loading_.join();
    loaded();
}

void symbol_stage::loaded() {
    ++module_loads_;
    // A failure: records have gone out meanwhile, and the rest are not held back for want of
    // the tables either. Every address stays raw (none half resolved by what the load left),
    // and the caller says why (load_failure()).
    if (background_failure_) return;
    report(std::exchange(background_report_, {}));
}

void symbol_stage::report(const std::vector<std::string>& lines) const {
    if (!report_) return;
    for (const auto& line : lines) report_(line);
}

void symbol_stage::load_all() {
    report(loader_.load_all(resolver_));
    ++module_loads_;
    release_load_buffers();
}

void symbol_stage::reload_all() {
    wait_loaded();
    if (background_failure_) return;  // -o's tables did not load: nothing expanded or reloaded
    reloading([this] { load_all(); });
}

void symbol_stage::reload_modules() {
    wait_loaded();
    if (background_failure_) return;  // see reload_all
    reloading([this] {
        report(loader_.load_modules(resolver_));
        ++module_loads_;
        release_load_buffers();
    });
}

void symbol_stage::reloading(const std::function<void()>& load) {
    try {
        load();
    } catch (const std::exception& e) {
        // The new tables are built before they replace the old ones: those stay. A running
        // daemon goes on (a table it cannot take ended it, on a signal or an Oops).
        release_load_buffers();
        report({std::string("cannot reload the symbol tables: ") + e.what() +
                "; the ones loaded before stay in use"});
    }
}

void symbol_stage::module_added(std::string_view name, std::uint64_t usec) {
    wait_loaded();
    resolver_.module_loaded(name, usec);
    reload_modules();
}

bool symbol_stage::module_removed(std::string_view name, std::uint64_t usec) {
    wait_loaded();
    // Its symbols stay in the current table until the next reload; the copy in the history
    // answers for its records once a reload (or another module at its address) replaced them.
    return resolver_.module_unloaded(name, usec);
}

void symbol_stage::release_load_buffers() noexcept {
    // Loading reads whole files (kallsyms: megabytes) into buffers that are freed again; give
    // those pages back so an idle daemon does not keep them resident.
    ::malloc_trim(0);
}

bool symbol_stage::rewrite(const klog::record_view& record, std::string& out) {
    // Only the kernel's own records: a userspace writer of /dev/kmsg gets no symbols.
    if (!record.from_kernel()) return false;
    if (oops_reload_ && record.text.find("Oops") != std::string_view::npos) reload_modules();
    if (loading_.joinable()) {
        // No address form: nothing to expand, with or without the tables still loading.
        if (!klog::symbols::expander::may_expand(record.text)) return false;
        wait_loaded();
    }
    if (background_failure_) return false;  // read after the join above
    out.clear();
    // Resolved against the modules of the record's time (loaded and unloaded since).
    resolver_.set_record_time(record.ts_usec);
    auto result = expander_.expand(record.text, out);
    if (result.module_address && poll_events_) {
        // A module's load and unload events come before the records that follow them: handle
        // those queued meanwhile (a module loaded while this batch was read) before trusting
        // the module tables for this record.
        const auto tables = resolver_.history_size();
        const auto before = module_loads_;
        poll_events_();
        if (module_loads_ != before || resolver_.history_size() != tables) {
            resolver_.set_record_time(record.ts_usec);
            out.clear();
            result = expander_.expand(record.text, out);
        }
    }
    if (result.unknown_module_address && loader_.modules_changed()) {
        // A module loaded since we last looked (its init prints before the kernel sends its
        // add uevent; none comes when init fails, nor where uevents do not reach klogd):
        // reload, then try again. Unchanged modules: the address is not a module's we can know,
        // and the kallsyms read is saved.
        reload_modules();
        out.clear();
        result = expander_.expand(record.text, out);
    }
    return result.expanded;
}

std::optional<klog::symbols::symbol_loader::config> symbol_tables(
    const config& cfg, const symbol_stage::report_fn& diag) {
    if (cfg.no_symbols) {
        diag("-x: no address resolution");
        return std::nullopt;
    }
    klog::symbols::symbol_loader::config sc;
    sc.system_map = cfg.system_map;
    sc.kallsyms = cfg.kallsyms.value_or(std::string(defaults::kallsyms));
    sc.modules = cfg.modules.value_or(std::string(defaults::modules));
    if (cfg.source == source_kind::replay) {
        // A saved log may come from another kernel: only the tables named for it are used.
        if (!cfg.system_map && !cfg.kallsyms) {
            diag("replay without -k or --kallsyms: kernel addresses stay raw");
            return std::nullopt;
        }
        sc.use_kallsyms = cfg.kallsyms.has_value();
        if (!cfg.modules) sc.modules.clear();
        // The offset the crashed kernel printed (`Kernel Offset: 0x...`) places its map (only
        // a System.map needs it: kallsyms addresses are already the running ones).
        std::string line;
        if (cfg.system_map && cfg.replay_path != "-") {
            if (const auto off = klog::symbols::kernel_offset_in_log(cfg.replay_path, line)) {
                sc.kernel_offset = off->offset;
                diag("kernel offset taken from the log: " + line);
            }
        }
    }
    return sc;
}

std::unique_ptr<symbol_stage> make_symbol_stage(const config& cfg,
                                                const symbol_stage::report_fn& diag,
                                                const symbol_stage::report_fn& notice) {
    auto tables = symbol_tables(cfg, diag);
    if (!tables) return nullptr;
    const bool to_log = !cfg.one_shot;
    auto stage = std::make_unique<symbol_stage>(std::move(*tables), cfg.oops_reload, cfg.print_both,
                                                [diag, notice, to_log](const std::string& line) {
                                                    diag(line);
                                                    if (to_log) notice(line);
                                                });
    if (cfg.one_shot) {
        stage->load_in_background();  // the first records need no tables
    } else {
        stage->load_all();  // a table it cannot take ends the start
    }
    return stage;
}

std::unique_ptr<module_events> watch_module_events(boost::asio::io_context& io, const config& cfg,
                                                   symbol_stage* stage,
                                                   const symbol_stage::report_fn& diag,
                                                   const symbol_stage::report_fn& unavailable) {
    if (stage == nullptr || cfg.source == source_kind::replay ||
        (cfg.kallsyms && *cfg.kallsyms != defaults::kallsyms)) {
        return nullptr;
    }
    symbol_stage& symbols = *stage;
    auto events = std::make_unique<module_events>(
        io, [&symbols, diag](module_events::action a, std::string_view name, std::uint64_t usec) {
            if (a == module_events::action::add) {
                diag("module " + std::string(name) + " loaded: its symbols read");
                symbols.module_added(name, usec);
            } else {
                diag("module " + std::string(name) + " unloaded: " +
                     (symbols.module_removed(name, usec)
                          ? "its symbols kept"
                          : "its symbols were never read (it went before klogd could)"));
            }
        });
    auto* raw = events.get();
    symbols.set_event_poll([raw] { raw->poll(); });
    if (const auto& why = events->unavailable()) {
        // Said once: module symbols then follow only the fallback (an address in no known
        // module reloads them when /proc/modules changed), and the records of a module
        // unloaded before klogd read them stay raw.
        unavailable("module load/unload events unavailable (" + *why +
                    "): module symbols are reloaded when an address falls in no known "
                    "module, and a module unloaded before klogd read its records leaves "
                    "their addresses raw");
    }
    return events;
}

}  // namespace klogd
