#include "klog/symbols/system_map.hpp"

#include "klog/symbols/symbol_file.hpp"

namespace klog::symbols {

namespace {

// Parses with `run(on_symbol)` (whole text or block by block) into `table`; returns `_text`
// (else `_stext`).
template <typename Run>
std::optional<std::uint64_t> collect(symbol_table& table, Run&& run) {
    std::optional<std::uint64_t> text;
    std::optional<std::uint64_t> stext;
    run([&](const symbol_file::line& l) {
        if (l.name == "_text") {
            text = l.address;
        } else if (l.name == "_stext") {
            stext = l.address;
        }
        table.add(l.address, l.type, l.name);
    });
    table.finalize();
    return text ? text : stext;
}

}  // namespace

system_map system_map::parse(std::string_view text, std::string_view source) {
    system_map map;
    map.source_ = std::string(source);
    // One entry per line at most: no regrowth (a copy into fresh pages) while loading.
    map.table_.reserve(symbol_file::count_lines(text));
    map.text_ = collect(map.table_, [&](const auto& on_symbol) {
        map.malformed_ = symbol_file::parse(text, source, on_symbol, map.diagnostics_);
    });
    return map;
}

system_map system_map::parse(std::istream& in, std::string_view source) {
    return parse(symbol_file::read_all(in), source);
}

system_map system_map::load(const std::filesystem::path& path) {
    system_map map;
    map.source_ = path.string();
    map.text_ = collect(map.table_, [&](const auto& on_symbol) {
        map.malformed_ = symbol_file::parse_file(path, map.source_, on_symbol, map.diagnostics_);
    });
    return map;
}

}  // namespace klog::symbols
