// Module uevents: an unloaded module's table answers for the records it printed, a record is
// resolved against the modules of its time, and a module's aliases resolve as the kernel's %pS.
#include <catch2/catch.hpp>

#include "klog/symbols/symbol_resolver.hpp"
#include "klog/symbols/symbol_table.hpp"

using klog::symbols::symbol_resolver;
using klog::symbols::symbol_table;

namespace {

symbol_table module_table(const char* module, std::uint64_t base, const char* first) {
    symbol_table t;
    const auto m = t.add_module(module, base + 0x1000);
    t.add(base, 't', first, m);
    t.add(base + 0x100, 't', "second_fn", m);
    t.finalize();
    return t;
}

std::string name_of(const symbol_resolver& r, std::uint64_t a) {
    const auto m = r.lookup(a);
    return m ? std::string(m->name) + " [" + std::string(m->module) + "]" : "(none)";
}

}  // namespace

TEST_CASE("an unloaded module answers for the records printed while it was loaded",
          "[symbols][modules]") {
    symbol_resolver r;
    const std::uint64_t base = 0xffffffffc0200000ULL;
    r.set_modules(module_table("first_mod", base, "first_fn"));
    r.module_loaded("first_mod", 1000);
    r.module_unloaded("first_mod", 2000);
    CHECK(r.history_size() == 1);
    // Reloaded tables without it (kallsyms no longer lists it): still found.
    r.set_modules(symbol_table());
    CHECK(name_of(r, base + 0x10) == "first_fn [first_mod]");
    CHECK_FALSE(r.unknown_module_address(base + 0x10));

    // Another module at the same address since: a record of its time gets it, an older
    // record the module unloaded after it was printed.
    r.set_modules(module_table("other_mod", base, "other_fn"));
    r.module_loaded("other_mod", 3000);
    r.set_record_time(2500);  // between: printed by nobody there; the current table answers
    CHECK(name_of(r, base + 0x10) == "other_fn [other_mod]");
    r.set_record_time(1500);
    CHECK(name_of(r, base + 0x10) == "first_fn [first_mod]");
    r.set_record_time(3500);
    CHECK(name_of(r, base + 0x10) == "other_fn [other_mod]");
    r.set_record_time(std::nullopt);
    CHECK(name_of(r, base + 0x10) == "other_fn [other_mod]");
}

TEST_CASE("the module history is bounded", "[symbols][modules]") {
    symbol_resolver r;
    for (std::uint64_t n = 0; n < symbol_resolver::max_history + 10; ++n) {
        const std::string name = "m" + std::to_string(n);
        r.set_modules(module_table(name.c_str(), 0xffffffffc0200000ULL + n * 0x10000, "f"));
        r.module_unloaded(name, 1000 + n);
    }
    CHECK(r.history_size() == symbol_resolver::max_history);
    r.module_unloaded("never_loaded", 5000);  // nothing to keep
    CHECK(r.history_size() == symbol_resolver::max_history);
}

TEST_CASE("a module's aliases resolve to the first in its symbol table as the kernel's %pS does",
          "[symbols][modules]") {
    // /proc/kallsyms of the test module: klogd_test_init (t) before its alias init_module (T).
    symbol_table t;
    const auto m = t.add_module("klogd_test_mod", 0xffffffffc0205000ULL);
    t.add(0xffffffffc0204000ULL, 't', "klogd_test_init", m);
    t.add(0xffffffffc0204000ULL, 'T', "init_module", m);
    t.finalize();
    const auto match = t.lookup(0xffffffffc0204032ULL);
    REQUIRE(match);
    CHECK(match->name == "klogd_test_init");
    // The core kernel keeps its own rule: global before local.
    symbol_table core;
    core.add(0xffffffff81000000ULL, 't', "local_alias");
    core.add(0xffffffff81000000ULL, 'T', "_printk");
    core.finalize();
    CHECK(core.lookup(0xffffffff81000000ULL)->name == "_printk");
}

TEST_CASE("an unloaded module's __pfx_ padding symbols are kept with it", "[symbols][modules]") {
    symbol_resolver r;
    const std::uint64_t base = 0xffffffffc0300000ULL;
    symbol_table t;
    const auto m = t.add_module("pad_mod", base + 0x1000);
    t.add(base, 't', "__pfx_pad_fn", m);
    t.add(base + 0x10, 't', "pad_fn", m);
    t.add(base + 0xf0, 't', "__pfx_pad_two", m);
    t.add(base + 0x100, 't', "pad_two", m);
    t.finalize();
    r.set_modules(std::move(t));
    r.module_unloaded("pad_mod", 2000);
    r.set_modules(symbol_table());
    r.set_record_time(1000);
    CHECK(name_of(r, base + 0x4) == "__pfx_pad_fn [pad_mod]");
    CHECK(name_of(r, base + 0x20) == "pad_fn [pad_mod]");
    CHECK(name_of(r, base + 0xf8) == "__pfx_pad_two [pad_mod]");
    CHECK(name_of(r, base + 0x900) == "pad_two [pad_mod]");
}
