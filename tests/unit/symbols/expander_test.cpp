#include "klog/symbols/expander.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "klog/symbols/kallsyms.hpp"
#include "klog/symbols/symbol_resolver.hpp"

using namespace klog::symbols;

namespace {

// A tiny x86_64 kernel: core at link-time addresses plus a KASLR offset, and one module.
struct fixture {
    symbol_resolver resolver;
    fixture() {
        symbol_table core;
        core.add(0xffffffff81000000ULL, 'T', "_text");
        core.add(0xffffffff81234500ULL, 'T', "do_oops");
        core.add(0xffffffff81234600ULL, 't', "helper");
        core.add(0xffffffff81234700ULL, 'T', "_etext");
        core.finalize();
        resolver.set_kernel(std::move(core), 0x2b400000ULL);

        symbol_table mods;
        const auto crc7 = mods.add_module("crc7");
        mods.add(0xffffffffc0232000ULL, 'T', "crc7_be", crc7);
        mods.add(0xffffffffc0232040ULL, 'r', "crc7_table", crc7);
        mods.finalize();
        resolver.set_modules(
            std::move(mods),
            module_list::parse("crc7 16384 0 - Live 0xffffffffc0232000\n", "proc-modules"));
    }
};

std::string expanded(const symbol_resolver& r, std::string_view line) {
    std::string out;
    const auto result = expander(r).expand(line, out);
    return result.expanded ? out : std::string(line);
}

}  // namespace

TEST_CASE("expander: [<addr>] gets the symbol after it, address kept", "[symbols]") {
    fixture f;
    // do_oops at runtime = 0xffffffff81234500 + 0x2b400000 = 0xffffffffac634500
    CHECK(expanded(f.resolver, " [<ffffffffac634512>] called from here") ==
          " [<ffffffffac634512>] do_oops+0x12/0x100 called from here");
    CHECK(expanded(f.resolver, "[<ffffffffc0232010>]") ==
          "[<ffffffffc0232010>] crc7_be+0x10/0x40 [crc7]");
    CHECK(expanded(f.resolver, "a [<ffffffffac634600>] b [<ffffffffc0232040>] c") ==
          "a [<ffffffffac634600>] helper+0x0/0x100 b [<ffffffffc0232040>] "
          "crc7_table+0x0/0x3fc0 [crc7] c");
    // Upper-case hex digits are addresses too; output stays as the kernel would print it.
    CHECK(expanded(f.resolver, "[<FFFFFFFFAC634501>]") == "[<FFFFFFFFAC634501>] do_oops+0x1/0x100");
}

TEST_CASE("expander: exact hit on the last symbol with unknown size prints no size", "[symbols]") {
    fixture f;
    CHECK(expanded(f.resolver, "[<ffffffffac634700>]") == "[<ffffffffac634700>] _etext+0x0");
    CHECK(expanded(f.resolver, "[<ffffffffac634701>]") == "[<ffffffffac634701>]");
}

TEST_CASE("expander: what no table covers, and empty [<>], stay as they are", "[symbols]") {
    fixture f;
    std::string out;
    const expander e(f.resolver);
    for (const char* line : {"[<>]", "[<0000000000001000>]", "[<ffffffffac634512", "[<xyz>]",
                             "[<ffffffffac6345120000000>]", "[<ffffffffac634512>",
                             "<ffffffffac634512>]", "plain text, nothing to see", ""}) {
        INFO(line);
        const auto r = e.expand(line, out);
        CHECK_FALSE(r.expanded);
        CHECK_FALSE(r.unknown_module_address);
        CHECK(out.empty());
    }
}

TEST_CASE("expander: lines the kernel already symbolized pass untouched", "[symbols]") {
    fixture f;
    std::string out;
    const expander e(f.resolver);
    for (const char* line : {
             "RIP: 0010:do_oops+0x12/0x100",
             "RIP: 0010:do_oops+0x12/0x100 [crc7]",
             " ? do_oops+0x1/0x2",
             " [<ffffffffac634512>] do_oops+0x12/0x100",
             " [<ffffffffac634512>] ? do_oops+0x12/0x100",
             "PC is at do_oops+0x12/0x100",
             "LR is at helper+0x4/0x100",
             "pc : do_oops+0x12/0x100",
             "lr : helper+0x4/0x100",
             "EIP: do_oops+0x12/0x100",
             "RIP: 0010:deadbeef+0x1/0x2",
         }) {
        INFO(line);
        CHECK_FALSE(e.expand(line, out).expanded);
    }
}

TEST_CASE("expander: raw hex after RIP/EIP/PC/LR/pc/lr", "[symbols]") {
    fixture f;
    CHECK(expanded(f.resolver, "RIP: 0010:0xffffffffac634512") ==
          "RIP: 0010:0xffffffffac634512 do_oops+0x12/0x100");
    CHECK(expanded(f.resolver, "RIP: 0010:ffffffffac634512 Code: 48 89") ==
          "RIP: 0010:ffffffffac634512 do_oops+0x12/0x100 Code: 48 89");
    CHECK(expanded(f.resolver, "EIP: 0xffffffffc0232004") ==
          "EIP: 0xffffffffc0232004 crc7_be+0x4/0x40 [crc7]");
    CHECK(expanded(f.resolver, "EIP: 0060:0xffffffffac634512") ==
          "EIP: 0060:0xffffffffac634512 do_oops+0x12/0x100");
    CHECK(expanded(f.resolver, "PC is at 0xffffffffac634512") ==
          "PC is at 0xffffffffac634512 do_oops+0x12/0x100");
    CHECK(expanded(f.resolver, "LR is at 0xffffffffac634604") ==
          "LR is at 0xffffffffac634604 helper+0x4/0x100");
    CHECK(expanded(f.resolver, "pc : 0xffffffffac634512") ==
          "pc : 0xffffffffac634512 do_oops+0x12/0x100");
    CHECK(expanded(f.resolver, "lr : 0xffffffffac634604") ==
          "lr : 0xffffffffac634604 helper+0x4/0x100");
    // i386 with the old bracketed form: the [<...>] rule handles it.
    CHECK(expanded(f.resolver, "EIP: 0060:[<ffffffffac634512>] EFLAGS: 00010246") ==
          "EIP: 0060:[<ffffffffac634512>] do_oops+0x12/0x100 EFLAGS: 00010246");
    // Not a prefix: part of another word, user-space code segment, too short bare hex.
    CHECK(expanded(f.resolver, "xpc : 0xffffffffac634512") == "xpc : 0xffffffffac634512");
    CHECK(expanded(f.resolver, "RIP: 0033:0x7f0000001000") == "RIP: 0033:0x7f0000001000");
    CHECK(expanded(f.resolver, "RIP: 0010:abcdef") == "RIP: 0010:abcdef");
    CHECK(expanded(f.resolver, "RIP: 0010:0x") == "RIP: 0010:0x");
}

TEST_CASE("expander: a module-area address in no known module is flagged", "[symbols]") {
    fixture f;
    std::string out;
    const expander e(f.resolver);
    // x86_64 module space, far from crc7
    auto r = e.expand("[<ffffffffc1000000>] new_module_func", out);
    CHECK_FALSE(r.expanded);
    CHECK(r.unknown_module_address);
    // expanded and flagged on the same line
    r = e.expand("[<ffffffffc0232000>] [<ffffffffc1000000>]", out);
    CHECK(r.expanded);
    CHECK(r.unknown_module_address);
    CHECK(out == "[<ffffffffc0232000>] crc7_be+0x0/0x40 [crc7] [<ffffffffc1000000>]");
    // inside crc7's range per /proc/modules: known module, no reload needed
    r = e.expand("[<ffffffffc0235000>]", out);
    CHECK(r.expanded);
    CHECK_FALSE(r.unknown_module_address);
    // user space and core kernel addresses are no module addresses
    CHECK_FALSE(e.expand("[<00007f0000001000>]", out).unknown_module_address);
    CHECK_FALSE(e.expand("[<ffffffffbfffffff>]", out).unknown_module_address);
}

TEST_CASE("expander: module area from the modules seen when the architecture is unknown",
          "[symbols]") {
    symbol_resolver r;
    symbol_table mods;
    const auto a = mods.add_module("a");
    const auto b = mods.add_module("b");
    mods.add(0xbf000000U, 'T', "a_func", a);
    mods.add(0xbf000100U, 'T', "a_last", a);
    mods.add(0xbf100000U, 'T', "b_func", b);
    mods.finalize();
    r.set_modules(
        std::move(mods),
        module_list::parse("a 512 0 - Live 0xbf000000\nb 4096 0 - Live 0xbf100000\n", "m"));
    CHECK_FALSE(r.module_area());
    CHECK(r.unknown_module_address(0xbf080000U));  // between a and b
    CHECK_FALSE(r.unknown_module_address(0xbf000180U));
    CHECK_FALSE(r.unknown_module_address(0xc0008000U));
    r.set_module_area(0xbf000000U, 0xc0000000U);
    CHECK(r.unknown_module_address(0xbfe00000U));
}

TEST_CASE("expander: nothing to expand costs no allocation", "[symbols]") {
    fixture f;
    const expander e(f.resolver);
    std::string out;
    out.reserve(256);
    const auto* data = out.data();
    const auto capacity = out.capacity();
    CHECK_FALSE(e.expand("usb 1-1: new high-speed USB device number 2 using ehci-pci", out));
    CHECK_FALSE(e.expand("RIP: 0010:do_oops+0x12/0x100", out));
    CHECK(e.expand("[<ffffffffac634512>]", out));
    CHECK(out.data() == data);  // reused buffer, no reallocation
    CHECK(out.capacity() == capacity);
}

TEST_CASE("resolver: modules reload independently of the kernel table", "[symbols]") {
    fixture f;
    CHECK(f.resolver.lookup(0xffffffffc0232000ULL)->name == "crc7_be");
    f.resolver.clear_modules();
    CHECK_FALSE(f.resolver.lookup(0xffffffffc0232000ULL));
    CHECK(f.resolver.unknown_module_address(0xffffffffc0232000ULL));
    CHECK(f.resolver.lookup(0xffffffffac634500ULL)->name == "do_oops");

    const auto k = kallsyms::parse("ffffffffc0300000 T new_func\t[newmod]\n", "kallsyms");
    f.resolver.set_modules(k.modules());
    CHECK(f.resolver.lookup(0xffffffffc0300000ULL)->module == "newmod");
    CHECK(f.resolver.lookup(0xffffffffac634500ULL)->name == "do_oops");
    f.resolver.clear_kernel();
    CHECK_FALSE(f.resolver.lookup(0xffffffffac634500ULL));
    CHECK(f.resolver.lookup(0xffffffffc0300000ULL)->name == "new_func");
}

TEST_CASE(
    "kallsyms: a module stuck in its init lists undefined symbols ('u') at core "
    "addresses, they never resolve as the module's",
    "[symbols]") {
    // Seen in the qemu guest after a module's init oopsed: the module stays COMING and
    // /proc/kallsyms shows its whole symtab, undefined symbols included, lowercase.
    const auto k = kallsyms::parse(
        "ffffffff8d400000 T _text\n"
        "ffffffff8d407e3d T _printk\n"
        "ffffffff8d407ec0 T vprintk\n"
        "ffffffffc05c6000 t klogd_test_target\t[klogd_test_mod]\n"
        "ffffffff8d407e3d u _printk\t[klogd_test_mod]\n",
        "kallsyms");
    symbol_resolver resolver;
    resolver.set_kernel(k.kernel());
    resolver.set_modules(k.modules());
    const auto core = resolver.lookup(0xffffffff8d407e3dULL);
    REQUIRE(core);
    CHECK(core->name == "_printk");
    CHECK(core->module.empty());
    CHECK(resolver.lookup(0xffffffffc05c6000ULL)->module == "klogd_test_mod");
}

TEST_CASE("expander: past 64 addresses on one line, the [<addr>] ones are kept first", "[symbols]") {
    // As before the one-pass search: every `[<addr>]` of the line, then each prefix form, up to
    // the cap. A `RIP:` before 64 bracketed addresses is the one left raw (review of the
    // one-pass search: it kept the RIP and dropped the last bracket).
    fixture f;
    std::string line = "RIP: 0010:0xffffffffac634512";
    std::string expected = "RIP: 0010:0xffffffffac634512";
    for (int i = 0; i < 64; ++i) {
        line += " [<ffffffffac634600>]";
        expected += " [<ffffffffac634600>] helper+0x0/0x100";
    }
    CHECK(expanded(f.resolver, line) == expected);
}
