// Fuzz target: System.map, /proc/kallsyms and /proc/modules parsers over arbitrary bytes.
// Checks that parsing never fails and that the finished tables answer consistently.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "klog/symbols/kallsyms.hpp"
#include "klog/symbols/map_selection.hpp"
#include "klog/symbols/module_list.hpp"
#include "klog/symbols/symbol_table.hpp"
#include "klog/symbols/system_map.hpp"

namespace {

void check_table(const klog::symbols::symbol_table& t) {
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (i > 0 && t.address_at(i - 1) >= t.address_at(i)) std::abort();  // sorted, unique
        const auto m = t.lookup(t.address_at(i));
        if (!m || m->offset != 0 || m->name != t.name_at(i)) std::abort();
        const auto size = t.size_at(i);
        if (size) {
            const auto last = t.lookup(t.address_at(i) + (*size - 1));
            if (!last || last->name != t.name_at(i)) std::abort();
        } else if (t.address_at(i) != UINT64_MAX && t.lookup(t.address_at(i) + 1) &&
                   (i + 1 >= t.size() ||
                    t.address_at(i + 1) - t.pfx_at(i + 1) != t.address_at(i) + 1)) {
            std::abort();  // never a match past a symbol of unknown size
        }
        if (const auto pfx = t.pfx_at(i)) {  // a folded __pfx_ symbol answers for its bytes
            const auto p = t.lookup(t.address_at(i) - pfx);
            if (!p || p->offset != 0 || p->name != t.pfx_name_at(i) || p->size != pfx) std::abort();
            if (p->name.substr(6) != t.name_at(i)) std::abort();
            const auto q = t.lookup(t.address_at(i) - 1);
            if (!q || q->name != p->name || q->offset != pfx - 1u) std::abort();
        }
    }
    if (!t.empty() && t.lowest_address() != 0 && t.lookup(t.lowest_address() - 1)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto modules = klog::symbols::module_list::parse(text, "fuzz-modules");
    const auto map = klog::symbols::system_map::parse(text, "fuzz-map");
    const auto running = klog::symbols::kallsyms::parse(text, "fuzz-kallsyms", &modules);
    check_table(map.table());
    check_table(running.kernel());
    check_table(running.modules());
    if (running.addresses_hidden() && (!running.kernel().empty() || !running.modules().empty())) {
        std::abort();
    }
    (void)klog::symbols::map_selection::compare(map, running);
    return 0;
}
