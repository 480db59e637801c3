#include "klog/symbols/symbol_table.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

using klog::symbols::symbol_table;

namespace {

symbol_table small_table(std::optional<std::uint64_t> end = {}) {
    symbol_table t;
    t.add(0xffffffff81000000ULL, 'T', "_text");
    t.add(0xffffffff81000100ULL, 'T', "first_func");
    t.add(0xffffffff81000180ULL, 't', "second_func");
    t.add(0xffffffff81000200ULL, 'T', "last_func");
    t.finalize(end);
    return t;
}

}  // namespace

TEST_CASE("symbol_table: below the first symbol nothing matches", "[symbols]") {
    const auto t = small_table();
    CHECK_FALSE(t.lookup(0));
    CHECK_FALSE(t.lookup(0xffffffff80ffffffULL));
}

TEST_CASE("symbol_table: exact hit and inside a symbol", "[symbols]") {
    const auto t = small_table();
    auto m = t.lookup(0xffffffff81000100ULL);
    REQUIRE(m);
    CHECK(m->name == "first_func");
    CHECK(m->offset == 0);
    REQUIRE(m->size);
    CHECK(*m->size == 0x80);
    CHECK(m->module.empty());

    m = t.lookup(0xffffffff8100017fULL);
    REQUIRE(m);
    CHECK(m->name == "first_func");
    CHECK(m->offset == 0x7f);

    m = t.lookup(0xffffffff81000180ULL);
    REQUIRE(m);
    CHECK(m->name == "second_func");
}

TEST_CASE("symbol_table: past the last symbol with an unknown size", "[symbols]") {
    const auto t = small_table();
    const auto exact = t.lookup(0xffffffff81000200ULL);
    REQUIRE(exact);
    CHECK(exact->name == "last_func");
    CHECK_FALSE(exact->size);
    CHECK_FALSE(t.lookup(0xffffffff81000201ULL));
    CHECK_FALSE(t.lookup(0xffffffffffffffffULL));
}

TEST_CASE("symbol_table: past the last symbol with a known end", "[symbols]") {
    const auto t = small_table(0xffffffff81000240ULL);
    const auto inside = t.lookup(0xffffffff8100023fULL);
    REQUIRE(inside);
    CHECK(inside->name == "last_func");
    CHECK(inside->offset == 0x3f);
    REQUIRE(inside->size);
    CHECK(*inside->size == 0x40);
    CHECK_FALSE(t.lookup(0xffffffff81000240ULL));
}

TEST_CASE("symbol_table: offsets and sizes are 64-bit", "[symbols]") {
    symbol_table t;
    t.add(0x1000, 'T', "low");
    t.add(0x1000 + 0x300000000ULL, 'T', "high");
    t.finalize();
    const auto m = t.lookup(0x1000 + 0x2fffffff0ULL);
    REQUIRE(m);
    CHECK(m->name == "low");
    CHECK(m->offset == 0x2fffffff0ULL);
    CHECK(*m->size == 0x300000000ULL);
}

TEST_CASE("symbol_table: duplicate addresses keep one name, whatever the input order",
          "[symbols]") {
    const std::uint64_t a = 0xffffffff81a07e3dULL;
    auto check_order = [&](std::initializer_list<std::pair<char, const char*>> order) {
        symbol_table t;
        t.add(a - 0x10, 'T', "before");
        for (const auto& [type, name] : order) t.add(a, type, name);
        t.add(a + 0x83, 't', "after");
        t.finalize();
        CHECK(t.size() == 3);
        const auto m = t.lookup(a + 1);
        REQUIRE(m);
        CHECK(m->name == "_printk");
        CHECK(*m->size == 0x83);
    };
    // global over local, strong over weak, fewer leading underscores
    check_order({{'t', "printk_alias"}, {'W', "a_weak"}, {'T', "_printk"}, {'T', "__printk"}});
    check_order({{'T', "__printk"}, {'T', "_printk"}, {'W', "a_weak"}, {'t', "printk_alias"}});
    check_order({{'T', "_printk"}, {'t', "printk_alias"}, {'T', "__printk"}, {'W', "a_weak"}});

    // equal rank: the smallest name, so _stext and _text resolve the same every time
    symbol_table t;
    t.add(0x1000, 'T', "_text");
    t.add(0x1000, 'T', "_stext");
    t.finalize();
    CHECK(t.lookup(0x1000)->name == "_stext");
}

TEST_CASE("symbol_table: absolute, undefined and debugging symbols are not kept", "[symbols]") {
    symbol_table t;
    CHECK_FALSE(t.add(0x0, 'A', "__per_cpu_start"));
    CHECK_FALSE(t.add(0x6000, 'a', "cpu_tss_rw"));
    CHECK_FALSE(t.add(0x10, 'U', "undefined"));
    CHECK_FALSE(t.add(0x10, 'N', "debug"));
    CHECK(t.add(0xffffffff81000000ULL, 'T', "_text"));
    CHECK(t.add(0xffffffff82000000ULL, 'D', "some_data"));
    CHECK(t.add(0xffffffff83000000ULL, 'b', "some_bss"));
    t.finalize();
    CHECK(t.size() == 3);
    CHECK_FALSE(t.lookup(0x6000));
    CHECK(t.lookup(0xffffffff82000010ULL)->name == "some_data");
}

TEST_CASE("symbol_table: module symbols carry their module and stop at the module end",
          "[symbols]") {
    symbol_table t;
    const auto crc7 = t.add_module("crc7", 0xffffffffc0236000ULL);
    const auto crc8 = t.add_module("crc8");
    t.add(0xffffffffc0239000ULL, 'T', "crc8_populate_msb", crc8);
    t.add(0xffffffffc0232000ULL, 'T', "crc7_be", crc7);
    t.add(0xffffffffc0234000ULL, 'd', "__this_module", crc7);
    t.add(0xffffffffc0239050ULL, 'T', "crc8_populate_lsb", crc8);
    t.finalize();

    auto m = t.lookup(0xffffffffc0232010ULL);
    REQUIRE(m);
    CHECK(m->name == "crc7_be");
    CHECK(m->module == "crc7");
    CHECK(*m->size == 0x2000);

    // The last crc7 symbol ends at the module end, not at crc8's first symbol.
    m = t.lookup(0xffffffffc0235fffULL);
    REQUIRE(m);
    CHECK(m->name == "__this_module");
    CHECK(*m->size == 0x2000);
    CHECK_FALSE(t.lookup(0xffffffffc0236000ULL));

    // crc8's last symbol: end unknown, exact address only.
    CHECK(t.lookup(0xffffffffc0239050ULL)->module == "crc8");
    CHECK_FALSE(t.lookup(0xffffffffc0239051ULL));
}

TEST_CASE("symbol_table: empty and unfinalized tables find nothing", "[symbols]") {
    symbol_table t;
    CHECK_FALSE(t.lookup(0x1000));
    t.add(0x1000, 'T', "f");
    CHECK_FALSE(t.lookup(0x1000));  // not finalized yet
    t.finalize();
    CHECK(t.lookup(0x1000));
    CHECK(t.address_of("f") == 0x1000U);
    CHECK_FALSE(t.address_of("g"));
}

namespace {

// A recent x86_64 kernel (CONFIG_CALL_PADDING): a 16-byte `__pfx_F` before every function F,
// listed right before it, as /proc/kallsyms and System.map do.
symbol_table padded_table(bool reversed = false) {
    struct sym {
        std::uint64_t address;
        char type;
        const char* name;
    };
    std::vector<sym> syms = {
        {0xffffffff81000000ULL, 'T', "_text"},
        {0xffffffff810000f0ULL, 't', "__pfx_first_func"},
        {0xffffffff81000100ULL, 't', "first_func"},
        {0xffffffff81000170ULL, 'T', "__pfx_second_func"},
        {0xffffffff81000180ULL, 'T', "second_func"},
        {0xffffffff810001f0ULL, 'T', "__pfx_last_func"},
        {0xffffffff81000200ULL, 'T', "last_func"},
    };
    if (reversed) std::reverse(syms.begin(), syms.end());
    symbol_table t;
    for (const auto& s : syms) t.add(s.address, s.type, s.name);
    t.finalize(0xffffffff81000300ULL);
    return t;
}

}  // namespace

TEST_CASE("symbol_table: __pfx_ padding symbols answer as the kernel's %pS and are folded",
          "[symbols]") {
    for (const bool reversed : {false, true}) {
        INFO("input reversed: " << reversed);
        const auto t = padded_table(reversed);
        CHECK(t.size() == 4);  // the three __pfx_ symbols are folded into their functions
        auto m = t.lookup(0xffffffff810000f0ULL);
        REQUIRE(m);
        CHECK(m->name == "__pfx_first_func");
        CHECK(m->offset == 0);
        CHECK(m->size == 0x10);
        m = t.lookup(0xffffffff810000ffULL);
        REQUIRE(m);
        CHECK(m->name == "__pfx_first_func");
        CHECK(m->offset == 0xf);
        // _text ends where the padding of first_func starts.
        m = t.lookup(0xffffffff810000efULL);
        REQUIRE(m);
        CHECK(m->name == "_text");
        CHECK(m->size == 0xf0);
        m = t.lookup(0xffffffff81000100ULL);
        REQUIRE(m);
        CHECK(m->name == "first_func");
        CHECK(m->size == 0x70);
        m = t.lookup(0xffffffff81000250ULL);
        REQUIRE(m);
        CHECK(m->name == "last_func");
        CHECK(m->size == 0x100);
        CHECK(t.address_of("__pfx_second_func") == 0xffffffff81000170ULL);
        CHECK(t.address_of("second_func") == 0xffffffff81000180ULL);
        REQUIRE(t.size() == 4);
        CHECK(t.pfx_at(2) == 0x10);
        CHECK(t.pfx_name_at(2) == "__pfx_second_func");
        CHECK(t.name_at(2) == "second_func");
        CHECK(t.type_at(2) == 'T');
        CHECK(t.pfx_at(0) == 0);
    }
}

TEST_CASE("symbol_table: a __pfx_ symbol that is not F's padding stays a symbol of its own",
          "[symbols]") {
    symbol_table t;
    t.add(0x1000, 'T', "__pfx_other");  // not followed by `other`
    t.add(0x1010, 'T', "func");
    t.add(0x1100, 'T', "__pfx_far");  // more than 255 bytes before `far`
    t.add(0x1300, 'T', "far");
    t.add(0x1400, 'T', "__pfx_");  // only the prefix
    t.finalize(0x1500);
    CHECK(t.size() == 5);
    CHECK(t.lookup(0x1005)->name == "__pfx_other");
    CHECK(t.lookup(0x1200)->name == "__pfx_far");
    CHECK(t.lookup(0x1300)->name == "far");
    CHECK(t.lookup(0x1450)->name == "__pfx_");
}

TEST_CASE("symbol_table: add after finalize unfolds the padding and finalizes again",
          "[symbols]") {
    auto t = padded_table();
    t.add(0xffffffff81000140ULL, 'T', "inner");
    CHECK_FALSE(t.lookup(0xffffffff81000100ULL));  // not finalized
    t.finalize(0xffffffff81000300ULL);
    CHECK(t.size() == 5);
    CHECK(t.lookup(0xffffffff81000145ULL)->name == "inner");
    CHECK(t.lookup(0xffffffff81000175ULL)->name == "__pfx_second_func");
    CHECK(t.lookup(0xffffffff81000100ULL)->size == 0x40);
}
