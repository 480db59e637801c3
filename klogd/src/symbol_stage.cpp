#include "klogd/symbol_stage.hpp"

#include <malloc.h>

namespace klogd {

symbol_stage::symbol_stage(klog::symbols::symbol_loader::config cfg, bool oops_reload,
                           bool print_both, report_fn report)
    : loader_(std::move(cfg)),
      expander_(resolver_),
      oops_reload_(oops_reload),
      print_both_(print_both),
      report_(std::move(report)) {}

void symbol_stage::report(const std::vector<std::string>& lines) const {
    if (!report_) return;
    for (const auto& line : lines) report_(line);
}

void symbol_stage::reload_all() {
    report(loader_.load_all(resolver_));
    ++module_loads_;
    release_load_buffers();
}

void symbol_stage::reload_modules() {
    report(loader_.load_modules(resolver_));
    ++module_loads_;
    release_load_buffers();
}

void symbol_stage::module_added(std::string_view name, std::uint64_t usec) {
    resolver_.module_loaded(name, usec);
    reload_modules();
}

bool symbol_stage::module_removed(std::string_view name, std::uint64_t usec) {
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

}  // namespace klogd
