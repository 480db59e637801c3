#include "klog/symbols/symbol_loader.hpp"

#include <system_error>

#include "klog/symbols/kallsyms.hpp"
#include "klog/symbols/kaslr.hpp"
#include "klog/symbols/map_selection.hpp"
#include "klog/symbols/module_list.hpp"

namespace klog::symbols {

namespace {

struct running_state {
    module_list modules;
    std::optional<kallsyms> symbols;  // empty: unreadable or not wanted
    kallsyms::parts parts = kallsyms::parts::all;
    bool usable() const noexcept {
        return symbols && !symbols->addresses_hidden() &&
               (parts == kallsyms::parts::modules_only || !symbols->kernel().empty());
    }
};

}  // namespace

void symbol_loader::say(std::vector<std::string>& out, std::string message) {
    if (said_.insert(message).second) out.push_back(std::move(message));
}

namespace {

running_state read_running(const symbol_loader::config& cfg, std::vector<std::string>& notes,
                           kallsyms::parts parts) {
    running_state state;
    state.parts = parts;
    if (!cfg.use_kallsyms) return state;
    try {
        state.modules = module_list::load(cfg.modules);
        for (const std::string& d : state.modules.diagnostics()) notes.push_back(d);
    } catch (const std::system_error& e) {
        notes.push_back(std::string("module sizes unknown: ") + e.what());
    }
    try {
        state.symbols = kallsyms::load(cfg.kallsyms, &state.modules, parts);
        for (const std::string& d : state.symbols->diagnostics()) notes.push_back(d);
        if (state.symbols->addresses_hidden()) {
            notes.push_back(cfg.kallsyms.string() +
                            " shows only zero addresses (kernel.kptr_restrict, or no "
                            "CAP_SYSLOG): its symbols are unavailable");
        }
    } catch (const std::system_error& e) {
        notes.push_back(std::string("kallsyms unavailable: ") + e.what());
    }
    return state;
}

}  // namespace

std::vector<std::string> symbol_loader::load_all(symbol_resolver& resolver) {
    std::vector<std::string> out;
    std::vector<std::string> notes;
    running_state state = read_running(config_, notes, kallsyms::parts::all);
    for (std::string& n : notes) say(out, std::move(n));
    const bool usable = state.usable();  // before the tables are moved out
    last_modules_ = state.modules;

    std::optional<map_selection> selection;
    if (config_.system_map || !usable) {
        map_selection::request req;
        req.explicit_path = config_.system_map;
        req.candidates = config_.map_candidates;
        req.release = config_.release;
        try {
            selection = map_selection::select(req, state.symbols ? &*state.symbols : nullptr);
            say(out, selection->message);
            for (const std::string& d :
                 selection->map ? selection->map->diagnostics() : std::vector<std::string>{}) {
                say(out, d);
            }
        } catch (const std::system_error& e) {
            say(out, std::string("System.map unusable: ") + e.what());
        }
    }

    if (selection && selection->map) {
        std::optional<std::uint64_t> offset = config_.kernel_offset;
        if (!offset && usable) offset = kaslr_offset(*state.symbols, *selection->map);
        if (!offset) {
            say(out, "KASLR offset unknown: " + selection->path.string() +
                         " addresses used as linked (wrong if the kernel was relocated)");
        }
        resolver.set_kernel(selection->map->take_table(), offset.value_or(0));
    } else if (usable) {
        say(out, "kernel symbols from " + config_.kallsyms.string());
        resolver.set_kernel(state.symbols->take_kernel());
    } else {
        resolver.clear_kernel();
        say(out, "no kernel symbols: kernel addresses stay raw");
    }

    if (usable) {
        resolver.set_modules(state.symbols->take_modules(), std::move(state.modules));
    } else {
        resolver.clear_modules();
    }
    return out;
}

std::vector<std::string> symbol_loader::load_modules(symbol_resolver& resolver) {
    std::vector<std::string> out;
    std::vector<std::string> notes;
    running_state state = read_running(config_, notes, kallsyms::parts::modules_only);
    for (std::string& n : notes) say(out, std::move(n));
    last_modules_ = state.modules;
    if (state.usable()) {
        resolver.set_modules(state.symbols->take_modules(), std::move(state.modules));
    } else {
        resolver.clear_modules();
    }
    return out;
}

bool symbol_loader::modules_changed() const {
    if (!config_.use_kallsyms) return false;
    try {
        const module_list now = module_list::load(config_.modules);
        return !last_modules_ || !now.same_modules(*last_modules_);
    } catch (const std::system_error&) {
        return false;  // unreadable: the load said so already
    }
}

}  // namespace klog::symbols
