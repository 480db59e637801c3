#include "klog/symbols/kallsyms.hpp"

#include <string>
#include <unordered_map>

#include "klog/symbols/symbol_file.hpp"

namespace klog::symbols {

kallsyms kallsyms::parse(std::string_view text, std::string_view source,
                         const module_list* modules) {
    kallsyms k;
    k.source_ = std::string(source);
    // One entry per line at most: no regrowth (a copy into fresh pages) while loading.
    k.kernel_.reserve(symbol_file::count_lines(text), text.size() / 2);
    std::optional<std::uint64_t> stext;
    bool any_symbol = false;
    bool any_address = false;
    std::unordered_map<std::string, std::uint32_t> module_ids;
    std::string_view last_module;
    std::uint32_t last_id = symbol_table::core;

    k.malformed_ = symbol_file::parse(
        text, source,
        [&](const symbol_file::line& l) {
            any_symbol = true;
            any_address = any_address || l.address != 0;
            if (l.module.empty()) {
                if (l.name == "_text") {
                    k.text_ = l.address;
                } else if (l.name == "_stext") {
                    stext = l.address;
                }
                k.kernel_.add(l.address, l.type, l.name);
                return;
            }
            if (l.module != last_module || last_id == symbol_table::core) {
                const std::string key(l.module);
                auto it = module_ids.find(key);
                if (it == module_ids.end()) {
                    it = module_ids.emplace(key, k.modules_.add_module(l.module)).first;
                }
                last_id = it->second;
                last_module = l.module;
            }
            k.modules_.add(l.address, l.type, l.name, last_id);
        },
        k.diagnostics_);

    if (any_symbol && !any_address) {
        k.hidden_ = true;
        k.kernel_ = symbol_table();
        k.modules_ = symbol_table();
        k.text_.reset();
    } else if (!k.text_) {
        k.text_ = stext;
    }
    if (modules != nullptr) {
        for (const module_list::module& m : modules->modules()) {
            const auto id = k.modules_.module_index(m.name);
            const auto end = m.end();
            if (id && end) k.modules_.set_module_end(*id, *end);
        }
    }
    k.kernel_.finalize();
    k.modules_.finalize();
    return k;
}

kallsyms kallsyms::parse(std::istream& in, std::string_view source, const module_list* modules) {
    return parse(symbol_file::read_all(in), source, modules);
}

kallsyms kallsyms::load(const std::filesystem::path& path, const module_list* modules) {
    return parse(symbol_file::read_file(path), path.string(), modules);
}

}  // namespace klog::symbols
