#include "klog/symbols/system_map.hpp"

#include "klog/symbols/symbol_file.hpp"

namespace klog::symbols {

system_map system_map::parse(std::string_view text, std::string_view source) {
    system_map map;
    map.source_ = std::string(source);
    // One entry per line at most: no regrowth (a copy into fresh pages) while loading.
    map.table_.reserve(symbol_file::count_lines(text), text.size() / 2);
    std::optional<std::uint64_t> stext;
    map.malformed_ = symbol_file::parse(
        text, source,
        [&](const symbol_file::line& l) {
            if (l.name == "_text") {
                map.text_ = l.address;
            } else if (l.name == "_stext") {
                stext = l.address;
            }
            map.table_.add(l.address, l.type, l.name);
        },
        map.diagnostics_);
    if (!map.text_) map.text_ = stext;
    map.table_.finalize();
    return map;
}

system_map system_map::parse(std::istream& in, std::string_view source) {
    return parse(symbol_file::read_all(in), source);
}

system_map system_map::load(const std::filesystem::path& path) {
    system_map map;
    map.source_ = path.string();
    std::optional<std::uint64_t> stext;
    map.malformed_ = symbol_file::parse_file(
        path, map.source_,
        [&](const symbol_file::line& l) {
            if (l.name == "_text") {
                map.text_ = l.address;
            } else if (l.name == "_stext") {
                stext = l.address;
            }
            map.table_.add(l.address, l.type, l.name);
        },
        map.diagnostics_);
    if (!map.text_) map.text_ = stext;
    map.table_.finalize();
    return map;
}

}  // namespace klog::symbols
