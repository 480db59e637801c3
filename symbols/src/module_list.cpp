#include "klog/symbols/module_list.hpp"

#include <charconv>

#include "klog/symbols/symbol_file.hpp"

namespace klog::symbols {

namespace {

// Splits off the next blank-separated field.
std::string_view next_field(std::string_view& text) noexcept {
    std::size_t i = 0;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t') ++j;
    const std::string_view field = text.substr(i, j - i);
    text.remove_prefix(j);
    return field;
}

template <typename T>
bool parse_number(std::string_view text, T& value, int base) noexcept {
    if (text.empty()) return false;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

module_list module_list::parse(std::string_view text, std::string_view source) {
    module_list list;
    std::size_t line_number = 0;
    while (!text.empty()) {
        ++line_number;
        const std::size_t nl = text.find('\n');
        std::string_view rest = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        if (!rest.empty() && rest.back() == '\r') rest.remove_suffix(1);
        if (rest.find_first_not_of(" \t") == std::string_view::npos) continue;

        // name size refcount users state address [taint]
        const std::string_view name = next_field(rest);
        const std::string_view size = next_field(rest);
        next_field(rest);  // refcount
        next_field(rest);  // users
        const std::string_view state = next_field(rest);
        std::string_view address = next_field(rest);
        module m;
        m.name = std::string(name);
        m.state = std::string(state);
        bool ok = !name.empty() && parse_number(size, m.size, 10);
        if (address.size() > 2 && address[0] == '0' && (address[1] == 'x' || address[1] == 'X')) {
            address.remove_prefix(2);
        }
        std::uint64_t base = 0;
        if (ok && !address.empty()) ok = parse_number(address, base, 16);
        if (!ok) {
            if (list.diagnostics_.size() < symbol_file::max_reported_lines) {
                list.diagnostics_.push_back(std::string(source) + ":" +
                                            std::to_string(line_number) +
                                            ": malformed module line");
            }
            continue;
        }
        if (base != 0) m.base = base;
        list.modules_.push_back(std::move(m));
    }
    return list;
}

module_list module_list::parse(std::istream& in, std::string_view source) {
    return parse(symbol_file::read_all(in), source);
}

module_list module_list::load(const std::filesystem::path& path) {
    return parse(symbol_file::read_file(path), path.string());
}

const module_list::module* module_list::find(std::string_view name) const noexcept {
    for (const module& m : modules_) {
        if (m.name == name) return &m;
    }
    return nullptr;
}

}  // namespace klog::symbols
