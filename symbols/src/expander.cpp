#include "klog/symbols/expander.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <optional>

#include "klog/text/needle_set.hpp"

namespace klog::symbols {

namespace {

// Trivial on purpose: the array below stays uninitialised on the hot path.
struct insertion {
    std::size_t at;  // insert after line[0, at)
    std::uint64_t address;
};

bool is_hex(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_symbol_char(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == '.' || c == '$';
}

// Number of hex digits at the start of `s`.
std::size_t hex_run(std::string_view s) noexcept {
    std::size_t n = 0;
    while (n < s.size() && is_hex(s[n])) ++n;
    return n;
}

std::uint64_t hex_value(std::string_view digits) noexcept {
    std::uint64_t value = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), value, 16);
    return value;
}

// `rest` starts right after an address: true when the kernel (or we) already printed a symbol
// there (` foo+0x12/0x50`, ` ? foo+0x12/0x50`, ` foo+0x12`).
bool already_symbolized(std::string_view rest) noexcept {
    std::size_t i = 0;
    while (i < rest.size() && rest[i] == ' ') ++i;
    if (i == 0) return false;
    if (rest.substr(i, 2) == "? ") i += 2;
    const std::size_t name_start = i;
    while (i < rest.size() && is_symbol_char(rest[i])) ++i;
    if (i == name_start || rest.substr(i, 3) != "+0x") return false;
    i += 3;
    const std::size_t offset_digits = hex_run(rest.substr(i));
    if (offset_digits == 0) return false;
    i += offset_digits;
    if (rest.substr(i, 3) == "/0x") return hex_run(rest.substr(i + 3)) > 0;
    // `foo+0x12` alone: what we print when the size is unknown.
    return i == rest.size() || rest[i] == ' ';
}

// A raw hex address token at the start of `s`: `0x` + 1..16 digits or 8..16 bare digits, ended
// by the end of the line or a character that cannot continue a symbol (`foo+0x..` is not hex).
std::optional<std::uint64_t> address_token(std::string_view s, std::size_t& length) noexcept {
    std::size_t i = 0;
    bool prefixed = false;
    if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        i = 2;
        prefixed = true;
    }
    const std::size_t digits = hex_run(s.substr(i));
    if (digits == 0 || digits > 16 || (!prefixed && digits < 8)) return std::nullopt;
    const std::size_t end = i + digits;
    if (end < s.size() && (is_symbol_char(s[end]) || s[end] == '+')) return std::nullopt;
    length = end;
    return hex_value(s.substr(i, digits));
}

struct prefix {
    std::string_view text;
    bool segment;  // may be followed by blanks and a `0060:` code segment (i386 EIP)
};

constexpr std::array<prefix, 6> prefixes{{
    {"RIP: 0010:", false},
    {"EIP:", true},
    {"PC is at ", false},
    {"LR is at ", false},
    {"pc : ", false},
    {"lr : ", false},
}};

/// The forms looked for: `[<hex>]` (0), then prefixes[i] (1 + i).
constexpr text::needle_set<1 + prefixes.size()> forms = [] {
    std::array<std::string_view, 1 + prefixes.size()> all{};
    all[0] = "[<";
    for (std::size_t i = 0; i < prefixes.size(); ++i) all[1 + i] = prefixes[i].text;
    return text::needle_set<1 + prefixes.size()>(all);
}();

void append_hex(std::string& out, std::uint64_t value) {
    char buffer[16];
    const auto [ptr, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, 16);
    (void)ec;
    out += "0x";
    out.append(buffer, static_cast<std::size_t>(ptr - buffer));
}

}  // namespace

bool expander::may_expand(std::string_view line) { return forms.found(line) != 0; }

expand_result expander::expand(std::string_view line, std::string& out) const {
    out.clear();
    expand_result result;
    std::array<insertion, max_expansions> found;
    std::size_t count = 0;
    bool capped = false;  // an address past max_expansions was left

    const auto consider = [&](std::uint64_t address, std::size_t at) {
        if (count == found.size()) {
            capped = true;
            return;
        }
        if (resolver_->in_module_area(address)) result.module_address = true;
        if (resolver_->lookup(address)) {
            // Keep insertions ordered by position (the lists below are each ordered).
            std::size_t k = count++;
            while (k > 0 && found[k - 1].at > at) {
                found[k] = found[k - 1];
                --k;
            }
            found[k] = insertion{at, address};
        } else if (resolver_->unknown_module_address(address)) {
            result.unknown_module_address = true;
        }
    };

    const auto at_form = [&](std::size_t form, std::size_t pos) {
        if (form == 0) {
            // `[<hex>]`
            const std::string_view rest = line.substr(pos + 2);
            const std::size_t digits = hex_run(rest);
            if (digits == 0 || digits > 16 || rest.substr(digits, 2) != ">]") return;
            const std::size_t at = pos + 2 + digits + 2;
            if (!already_symbolized(line.substr(at))) consider(hex_value(rest.substr(0, digits)), at);
            return;
        }
        // `RIP: 0010:0x...` and friends.
        const prefix& p = prefixes[form - 1];
        if (pos > 0 && is_symbol_char(line[pos - 1])) return;
        std::size_t i = pos + p.text.size();
        if (p.segment) {
            while (i < line.size() && line[i] == ' ') ++i;
            if (hex_run(line.substr(i)) == 4 && line.substr(i + 4, 1) == ":") i += 5;
        }
        std::size_t length = 0;
        const auto address = address_token(line.substr(i), length);
        if (!address) return;
        const std::size_t at = i + length;
        if (!already_symbolized(line.substr(at))) consider(*address, at);
    };
    // One pass over the line for every form (see needle_set: a `find` per form, each stopping
    // at every `[`, `p` or `l`, cost more than the rest of the record's path).
    forms.for_each(line, at_form);
    if (capped) {
        // More addresses than the cap: those kept are chosen as they always were, every
        // `[<addr>]` first, then each prefix form in turn (a pass per form, on such lines only).
        count = 0;
        result = {};
        for (std::size_t f = 0; f < 1 + prefixes.size(); ++f) {
            forms.for_each(line, [&](std::size_t form, std::size_t pos) {
                if (form == f) at_form(form, pos);
            });
        }
    }

    if (count == 0) return result;

    out.reserve(line.size() + count * 64);
    std::size_t copied = 0;
    for (std::size_t k = 0; k < count; ++k) {
        const insertion& ins = found[k];
        const auto match = resolver_->lookup(ins.address);  // found above: cheap to repeat
        out.append(line.substr(copied, ins.at - copied));
        copied = ins.at;
        out += ' ';
        out.append(match->name);
        out += '+';
        append_hex(out, match->offset);
        if (match->size) {
            out += '/';
            append_hex(out, *match->size);
        }
        if (!match->module.empty()) {
            out += " [";
            out.append(match->module);
            out += ']';
        }
    }
    out.append(line.substr(copied));
    result.expanded = true;
    return result;
}

}  // namespace klog::symbols
