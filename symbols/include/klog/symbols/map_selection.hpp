#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "klog/symbols/kallsyms.hpp"
#include "klog/symbols/system_map.hpp"

namespace klog::symbols {

// Which System.map to use, and why (or why none).
//
// `-k FILE` is used as given (open failure throws std::system_error naming the path); if it
// disagrees with the running kernel's kallsyms the message says so, but it is still used (the
// user may be decoding another kernel's saved oops).
// Otherwise the classic list is searched in order and the first map accepted for the running
// kernel wins. Accepted when:
//  - kallsyms shows addresses: the map agrees with it (compare()): a sample of global text
//    symbols sits at the same distance from `_text` in both. The old `Version_` check is not
//    used: modern maps have no such symbol.
//  - kallsyms is hidden (kptr_restrict) or absent: the file name carries the running release
//    (`/boot/System.map-6.1.0-56-amd64` for `6.1.0-56-amd64`), the only evidence left.
struct map_selection {
    struct request {
        std::optional<std::filesystem::path> explicit_path;  // -k FILE
        std::vector<std::filesystem::path> candidates;       // empty: classic_paths(release)
        std::string release;                                 // empty: running_release()
    };
    struct check {
        bool agrees = false;
        std::size_t sampled = 0;     // symbols taken from the map
        std::size_t found = 0;       // of those, present in kallsyms
        std::size_t mismatched = 0;  // of those, at another distance from `_text`
        std::string reason;          // why it does not agree, when it does not
    };

    std::optional<system_map> map;  // the map to use; empty when none
    std::filesystem::path path;     // where it came from
    std::string message;            // one sentence for the log, said once

    static map_selection select(const request& req, const kallsyms* running);
    static check compare(const system_map& map, const kallsyms& running);
    // /boot/System.map-RELEASE, /boot/System.map, /System.map, /usr/src/linux/System.map
    static std::vector<std::filesystem::path> classic_paths(std::string_view release);
    // uname -r
    static std::string running_release();

    static constexpr std::size_t sample_size = 64;
};

}  // namespace klog::symbols
