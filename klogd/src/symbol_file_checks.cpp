#include "klogd/symbol_file_checks.hpp"

#include "klog/symbols/symbol_file_check.hpp"

namespace klogd {

void check_symbol_files(const config& cfg) {
    using klog::symbols::symbol_file_check;
    const auto check = [](const char* option, const std::optional<std::string>& path,
                          symbol_file_check::kind kind) {
        if (!path) return;
        if (const auto problem = symbol_file_check::problem(*path, kind)) {
            throw usage_error(std::string(option) + " " + *path + ": " + *problem);
        }
    };
    check("-k", cfg.system_map, symbol_file_check::kind::system_map);
    check("--kallsyms", cfg.kallsyms, symbol_file_check::kind::kallsyms);
    check("--modules", cfg.modules, symbol_file_check::kind::modules);
}

}  // namespace klogd
