#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "klog/symbols/symbol_resolver.hpp"

namespace klog::symbols {

// Fills a symbol_resolver from the running system, for the daemon:
//   load_all()     at start-up and on SIGUSR2: /proc/modules, /proc/kallsyms, System.map;
//   load_modules() on SIGUSR1, `-p` on an Oops, or an unknown module address: modules only.
// Kernel table: `-k` map (offset: forced, else kallsyms _text − map _text, else 0), else
// kallsyms when it shows addresses, else a map from the classic list accepted by
// map_selection, else none (addresses stay raw). The classic list is not searched when
// kallsyms already gives the running kernel's addresses.
// Returns the lines to log; each distinct line is returned once per loader (kptr_restrict,
// missing files, the map decision are said once, not on every reload). Never throws for a
// missing or unreadable file: that becomes a message.
class symbol_loader {
  public:
    struct config {
        std::optional<std::filesystem::path> system_map;  // -k FILE
        std::filesystem::path kallsyms = "/proc/kallsyms";
        std::filesystem::path modules = "/proc/modules";
        std::vector<std::filesystem::path> map_candidates;  // empty: the classic list
        std::string release;                                // empty: uname -r
        std::optional<std::uint64_t> kernel_offset;         // forced (a replayed `Kernel Offset:`)
        bool use_kallsyms = true;  // false when decoding another kernel's saved log
    };

    explicit symbol_loader(config cfg) : config_(std::move(cfg)) {}

    std::vector<std::string> load_all(symbol_resolver& resolver);
    std::vector<std::string> load_modules(symbol_resolver& resolver);
    // Whether /proc/modules now lists other modules, bases or states (Loading → Live) than at
    // the last load: cheap (a few lines), so an address in no known module can ask it every
    // time instead of waiting out a rate limit. False when it cannot be read.
    bool modules_changed() const;

    const config& settings() const noexcept { return config_; }

  private:
    void say(std::vector<std::string>& out, std::string message);

    config config_;
    std::set<std::string> said_;
    std::optional<module_list> last_modules_;  // as read by the last load
};

}  // namespace klog::symbols
