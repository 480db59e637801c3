// Fuzz target: the address expander over arbitrary bytes against a small fixed table
// (core kernel with a KASLR offset, one module). Each input line and the whole input are
// expanded; an expansion only adds text, and expanding its result again changes nothing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "klog/symbols/expander.hpp"
#include "klog/symbols/kallsyms.hpp"
#include "klog/symbols/module_list.hpp"
#include "klog/symbols/symbol_resolver.hpp"

namespace {

const klog::symbols::symbol_resolver& fixed_resolver() {
    static const klog::symbols::symbol_resolver resolver = [] {
        klog::symbols::symbol_resolver r;
        klog::symbols::symbol_table core;
        core.add(0xffffffff81000000ULL, 'T', "_text");
        core.add(0xffffffff81a07e3dULL, 'T', "_printk");
        core.add(0xffffffff81a07ec0ULL, 't', "devkmsg_release.cold");
        core.add(0xffffffff81e01d32ULL, 'T', "_etext");
        core.add(0x00000000c0001000ULL, 'T', "low_32bit_func");
        core.finalize();
        r.set_kernel(std::move(core), 0x2b400000ULL);
        const auto modules = klog::symbols::module_list::parse(
            "crc7 16384 0 - Live 0xffffffffc0232000\n", "modules");
        const auto k = klog::symbols::kallsyms::parse(
            "ffffffffc0232000 T crc7_be\t[crc7]\nffffffffc0233024 r _note_10\t[crc7]\n", "kallsyms",
            &modules);
        r.set_modules(k.modules(), modules);
        return r;
    }();
    return resolver;
}

void expand_checked(const klog::symbols::expander& e, std::string_view line, std::string& out,
                    std::string& again) {
    const auto result = e.expand(line, out);
    if (!result.expanded) {
        if (!out.empty()) std::abort();
        return;
    }
    if (out.size() <= line.size()) std::abort();
    // Idempotent while under the per-line cap (each expansion needs at least 5 input bytes).
    if (line.size() < 5 * klog::symbols::expander::max_expansions && e.expand(out, again)) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const klog::symbols::expander e(fixed_resolver());
    std::string out;
    std::string again;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    expand_checked(e, text, out, again);
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        expand_checked(e, text.substr(0, nl), out, again);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    }
    return 0;
}
