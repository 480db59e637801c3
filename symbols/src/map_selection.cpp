#include "klog/symbols/map_selection.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <system_error>
#include <unordered_map>

#include "klog/symbols/kaslr.hpp"

namespace klog::symbols {

namespace {

std::string hex(std::uint64_t value) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    do {
        out.insert(out.begin(), digits[value & 0xf]);
        value >>= 4;
    } while (value != 0);
    return "0x" + out;
}

bool usable(const kallsyms* running) noexcept {
    return running != nullptr && !running->addresses_hidden() && !running->kernel().empty();
}

}  // namespace

std::vector<std::filesystem::path> map_selection::classic_paths(std::string_view release) {
    std::vector<std::filesystem::path> paths;
    if (!release.empty()) paths.emplace_back("/boot/System.map-" + std::string(release));
    paths.emplace_back("/boot/System.map");
    paths.emplace_back("/System.map");
    paths.emplace_back("/usr/src/linux/System.map");
    return paths;
}

std::string map_selection::running_release() {
    struct utsname u {};
    if (::uname(&u) != 0) return {};
    return u.release;
}

map_selection::check map_selection::compare(const system_map& map, const kallsyms& running) {
    check result;
    const auto offset = kaslr_offset(running, map);
    if (!offset) {
        result.reason =
            !map.text_address() ? "it has no _text symbol" : "kallsyms has no _text symbol";
        return result;
    }
    // Evenly spread global text symbols of the map.
    const symbol_table& table = map.table();
    std::vector<std::size_t> globals;
    for (std::size_t i = 0; i < table.size(); ++i) {
        if (table.type_at(i) == 'T') globals.push_back(i);
    }
    std::unordered_map<std::string_view, std::uint64_t> samples;
    const std::size_t n = globals.size();
    for (std::size_t k = 0; k < std::min(n, sample_size); ++k) {
        const std::size_t i = globals[k * n / std::min(n, sample_size)];
        samples.emplace(table.name_at(i), table.address_at(i));
    }
    result.sampled = samples.size();
    const symbol_table& kernel = running.kernel();
    for (std::size_t i = 0; i < kernel.size(); ++i) {
        const auto it = samples.find(kernel.name_at(i));
        if (it == samples.end()) continue;
        ++result.found;
        if (kernel.address_at(i) - *offset != it->second) ++result.mismatched;
    }
    if (result.sampled == 0) {
        result.reason = "it has no global text symbols";
    } else if (result.mismatched != 0) {
        result.reason = std::to_string(result.mismatched) + " of " + std::to_string(result.found) +
                        " sampled symbols are elsewhere than in kallsyms (KASLR offset " +
                        hex(*offset) + ")";
    } else if (result.found * 2 < result.sampled) {
        result.reason = "only " + std::to_string(result.found) + " of " +
                        std::to_string(result.sampled) + " sampled symbols exist in kallsyms";
    } else {
        result.agrees = true;
    }
    return result;
}

map_selection map_selection::select(const request& req, const kallsyms* running) {
    map_selection sel;
    const std::string release = req.release.empty() ? running_release() : req.release;

    if (req.explicit_path) {
        sel.path = *req.explicit_path;
        sel.map = system_map::load(*req.explicit_path);
        sel.message = "using System.map " + sel.path.string() + " (-k)";
        if (usable(running)) {
            const check c = compare(*sel.map, *running);
            sel.message += c.agrees ? ", agrees with " + running->source()
                                    : "; it does not match the running kernel (" + c.reason +
                                          "), used as asked";
        }
        return sel;
    }

    const std::vector<std::filesystem::path> candidates =
        req.candidates.empty() ? classic_paths(release) : req.candidates;
    std::string rejected;
    const auto reject = [&](const std::filesystem::path& p, const std::string& why) {
        rejected += rejected.empty() ? "" : "; ";
        rejected += p.string() + ": " + why;
    };
    for (const std::filesystem::path& p : candidates) {
        std::error_code ec;
        if (!std::filesystem::exists(p, ec)) {
            reject(p, "not found");
            continue;
        }
        std::optional<system_map> candidate;
        try {
            candidate = system_map::load(p);
        } catch (const std::system_error& e) {
            reject(p, e.code().message());
            continue;
        }
        if (candidate->table().empty()) {
            reject(p, "no symbols in it");
            continue;
        }
        if (usable(running)) {
            const check c = compare(*candidate, *running);
            if (!c.agrees) {
                reject(p, "does not match the running kernel (" + c.reason + ")");
                continue;
            }
            sel.message = "using System.map " + p.string() + ", agrees with " + running->source() +
                          " (" + std::to_string(c.found) + " of " + std::to_string(c.sampled) +
                          " sampled symbols)";
        } else {
            const std::string name = p.filename().string();
            if (release.empty() || name.find(release) == std::string::npos) {
                reject(p,
                       "cannot be checked (kallsyms shows no addresses) and its name does "
                       "not carry the running release " +
                           (release.empty() ? std::string("(unknown)") : release));
                continue;
            }
            sel.message = "using System.map " + p.string() + ", named for the running release " +
                          release + " (kallsyms shows no addresses to check it against)";
        }
        sel.path = p;
        sel.map = std::move(candidate);
        return sel;
    }
    sel.message = "no System.map used: " + (rejected.empty() ? "no candidates" : rejected);
    return sel;
}

}  // namespace klog::symbols
