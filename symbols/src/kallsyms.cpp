#include "klog/symbols/kallsyms.hpp"

#include <string>
#include <unordered_map>

#include "klog/symbols/symbol_file.hpp"

namespace klog::symbols {

// Collects the lines of one kallsyms text (whole or block by block) into the tables.
class kallsyms::builder {
  public:
    builder(kallsyms& k, parts keep) : k_(k), keep_(keep) {}

    void operator()(const symbol_file::line& l) {
        any_symbol_ = true;
        any_address_ = any_address_ || l.address != 0;
        if (l.module.empty()) {
            if (l.name == "_text") {
                k_.text_ = l.address;
            } else if (l.name == "_stext") {
                stext_ = l.address;
            }
            if (keep_ == parts::all) k_.kernel_.add(l.address, l.type, l.name);
            return;
        }
        if (l.module != last_module_ || last_id_ == symbol_table::core) {
            const std::string key(l.module);
            auto it = module_ids_.find(key);
            if (it == module_ids_.end()) {
                it = module_ids_.emplace(key, k_.modules_.add_module(l.module)).first;
            }
            last_id_ = it->second;
            last_module_ = it->first;  // the key outlives the line's buffer
        }
        k_.modules_.add(l.address, l.type, l.name, last_id_);
    }

    void finish(const module_list* modules) {
        if (any_symbol_ && !any_address_) {
            k_.hidden_ = true;
            k_.kernel_ = symbol_table();
            k_.modules_ = symbol_table();
            k_.text_.reset();
        } else if (!k_.text_) {
            k_.text_ = stext_;
        }
        if (modules != nullptr) {
            for (const module_list::module& m : modules->modules()) {
                const auto id = k_.modules_.module_index(m.name);
                const auto end = m.end();
                if (id && end) k_.modules_.set_module_end(*id, *end);
            }
        }
        k_.kernel_.finalize();
        k_.modules_.finalize();
    }

  private:
    kallsyms& k_;
    parts keep_;
    std::optional<std::uint64_t> stext_;
    bool any_symbol_ = false;
    bool any_address_ = false;
    std::unordered_map<std::string, std::uint32_t> module_ids_;
    std::string_view last_module_;
    std::uint32_t last_id_ = symbol_table::core;
};

kallsyms kallsyms::parse(std::string_view text, std::string_view source,
                         const module_list* modules, parts keep) {
    kallsyms k;
    k.source_ = std::string(source);
    // One entry per line at most: no regrowth (a copy into fresh pages) while loading.
    if (keep == parts::all) k.kernel_.reserve(symbol_file::count_lines(text));
    builder b(k, keep);
    k.malformed_ = symbol_file::parse(
        text, source, [&](const symbol_file::line& l) { b(l); }, k.diagnostics_);
    b.finish(modules);
    return k;
}

kallsyms kallsyms::parse(std::istream& in, std::string_view source, const module_list* modules) {
    return parse(symbol_file::read_all(in), source, modules);
}

kallsyms kallsyms::load(const std::filesystem::path& path, const module_list* modules, parts keep) {
    kallsyms k;
    k.source_ = path.string();
    builder b(k, keep);
    k.malformed_ = symbol_file::parse_file(
        path, k.source_, [&](const symbol_file::line& l) { b(l); }, k.diagnostics_);
    b.finish(modules);
    return k;
}

}  // namespace klog::symbols
