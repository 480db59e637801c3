#include "klog/symbols/symbol_file.hpp"

#include <catch2/catch.hpp>
#include <sstream>
#include <string>

#include "klog/symbols/kallsyms.hpp"
#include "klog/symbols/module_list.hpp"
#include "klog/symbols/system_map.hpp"

using namespace klog::symbols;

TEST_CASE("symbol_file: one line of nm / kallsyms text", "[symbols]") {
    symbol_file::line l;
    REQUIRE(symbol_file::parse_line("ffffffff81a07e3d T _printk", l) ==
            symbol_file::status::symbol);
    CHECK(l.address == 0xffffffff81a07e3dULL);
    CHECK(l.type == 'T');
    CHECK(l.name == "_printk");
    CHECK(l.module.empty());

    REQUIRE(symbol_file::parse_line("ffffffffc0232000 T crc7_be\t[crc7]\r", l) ==
            symbol_file::status::symbol);
    CHECK(l.name == "crc7_be");
    CHECK(l.module == "crc7");

    REQUIRE(symbol_file::parse_line("c0123456 t short_32bit", l) == symbol_file::status::symbol);
    CHECK(l.address == 0xc0123456U);

    CHECK(symbol_file::parse_line("", l) == symbol_file::status::blank);
    CHECK(symbol_file::parse_line("  \r", l) == symbol_file::status::blank);

    for (const char* bad :
         {"ffffffff81a07e3d", "ffffffff81a07e3d T", "zzzz T name", "ffffffff81a07e3d TT name",
          "ffffffff81a07e3d 1 name", "1ffffffff81a07e3d0 T too_long_address",
          "ffffffff81a07e3dT name", "ffffffffc0232000 T crc7_be [crc7", "ffffffffc0232000 T a b",
          "ffffffffc0232000 T crc7_be [crc7] extra", "-1 T negative"}) {
        INFO(bad);
        CHECK(symbol_file::parse_line(bad, l) == symbol_file::status::malformed);
    }
}

TEST_CASE("system_map: malformed lines are reported with file and line, the rest loads",
          "[symbols]") {
    std::istringstream in(
        "ffffffff81000000 T _text\n"
        "this is not a symbol\n"
        "ffffffff81000100 T good_one\n"
        "ffffffff81000200 X\n"
        "\n"
        "ffffffff81000300 T good_two\n"
        "ffffffff81000400 T last");  // no final newline
    const auto map = system_map::parse(in, "System.map-test");
    CHECK(map.malformed_lines() == 2);
    REQUIRE(map.diagnostics().size() == 2);
    // File and line only: the file is never quoted.
    CHECK(map.diagnostics()[0] == "System.map-test:2: malformed symbol line");
    CHECK(map.diagnostics()[1] == "System.map-test:4: malformed symbol line");
    CHECK(map.table().size() == 4);
    CHECK(map.text_address() == 0xffffffff81000000ULL);
    const auto m = map.table().lookup(0xffffffff81000250ULL);
    REQUIRE(m);
    CHECK(m->name == "good_one");
    CHECK(*m->size == 0x200);
    CHECK(map.table().lookup(0xffffffff81000400ULL)->name == "last");
}

TEST_CASE("system_map: a flood of malformed lines is capped and counted", "[symbols]") {
    std::string text = "ffffffff81000000 T _text\n";
    for (int i = 0; i < 100; ++i) text += "garbage\x01\n";
    const auto map = system_map::parse(text, "flood");
    CHECK(map.malformed_lines() == 100);
    REQUIRE(map.diagnostics().size() == symbol_file::max_reported_lines + 1);
    CHECK(map.diagnostics()[0] == "flood:2: malformed symbol line");
    CHECK(map.diagnostics().back() == "flood: 80 more malformed lines not shown");
    CHECK(map.table().size() == 1);
}

TEST_CASE("system_map: load of a missing file throws system_error naming the path", "[symbols]") {
    try {
        system_map::load("/nonexistent/System.map-none");
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(std::string(e.what()).find("/nonexistent/System.map-none") != std::string::npos);
        CHECK(e.code() == std::errc::no_such_file_or_directory);
    }
}

TEST_CASE("kallsyms: core and module symbols, module ends from /proc/modules", "[symbols]") {
    const std::string text =
        "0000000000000000 A fixed_percpu_data\n"
        "ffffffffac400000 T _stext\n"
        "ffffffffac400000 T _text\n"
        "fffffffface07e3d T _printk\n"
        "fffffffface07ec0 t devkmsg_release.cold\n"
        "ffffffffc0233078 r __crc_crc7_be\t[crc7]\n"
        "ffffffffc0239000 T crc8_populate_msb\t[crc8]\n"
        "ffffffffc0234000 d __this_module\t[crc7]\n"
        "ffffffffc0232000 T crc7_be\t[crc7]\n";
    const auto modules = module_list::parse(
        "crc8 16384 0 - Live 0xffffffffc0239000\n"
        "crc7 16384 0 - Live 0xffffffffc0232000 (OE)\n",
        "proc-modules");
    REQUIRE(modules.modules().size() == 2);
    CHECK(modules.find("crc7")->end() == 0xffffffffc0236000ULL);

    const auto k = kallsyms::parse(text, "kallsyms", &modules);
    CHECK_FALSE(k.addresses_hidden());
    CHECK(k.text_address() == 0xffffffffac400000ULL);
    CHECK(k.kernel().size() == 3);
    CHECK(k.modules().size() == 4);
    CHECK(k.modules().module_count() == 2);

    auto m = k.modules().lookup(0xffffffffc0232000ULL);
    REQUIRE(m);
    CHECK(m->name == "crc7_be");
    CHECK(m->module == "crc7");
    CHECK(*m->size == 0x1078);
    m = k.modules().lookup(0xffffffffc023a000ULL);  // crc8's last symbol, bounded by the module
    REQUIRE(m);
    CHECK(m->name == "crc8_populate_msb");
    CHECK(*m->size == 0x4000);
    CHECK_FALSE(k.modules().lookup(0xffffffffc023d000ULL));
    CHECK_FALSE(k.kernel().lookup(0xffffffffc0232000ULL));
}

TEST_CASE("kallsyms: all-zero addresses (kptr_restrict) mean unavailable", "[symbols]") {
    const auto k = kallsyms::parse(
        "0000000000000000 T _stext\n"
        "0000000000000000 T _text\n"
        "0000000000000000 T _printk\n"
        "0000000000000000 T crc7_be\t[crc7]\n",
        "kallsyms");
    CHECK(k.addresses_hidden());
    CHECK(k.kernel().empty());
    CHECK(k.modules().empty());
    CHECK_FALSE(k.text_address());
    CHECK_FALSE(k.kernel().lookup(0));

    const auto empty = kallsyms::parse("", "kallsyms");
    CHECK_FALSE(empty.addresses_hidden());
    CHECK(empty.kernel().empty());
}

TEST_CASE("kallsyms: a huge generated file (1M lines) loads", "[symbols]") {
    std::string text;
    text.reserve(1000000 * 40);
    char line[96];
    for (std::uint64_t i = 0; i < 1000000; ++i) {
        const int n =
            std::snprintf(line, sizeof line, "%016llx %c generated_symbol_%llu\n",
                          static_cast<unsigned long long>(0xffffffff81000000ULL + i * 0x40),
                          i % 3 == 0 ? 'T' : 't', static_cast<unsigned long long>(i));
        text.append(line, static_cast<std::size_t>(n));
    }
    text += "ffffffffc0000000 T mod_func\t[big]\n";
    const auto k = kallsyms::parse(text, "huge");
    CHECK(k.malformed_lines() == 0);
    CHECK(k.kernel().size() == 1000000);
    const auto m = k.kernel().lookup(0xffffffff81000000ULL + 777777 * 0x40 + 0x3f);
    REQUIRE(m);
    CHECK(m->name == "generated_symbol_777777");
    CHECK(m->offset == 0x3f);
    CHECK(*m->size == 0x40);
    CHECK(k.modules().lookup(0xffffffffc0000000ULL)->module == "big");
}

TEST_CASE("module_list: malformed lines reported, kptr_restrict base unknown", "[symbols]") {
    const auto list = module_list::parse(
        "crc7 16384 0 - Live 0x0000000000000000\n"
        "broken\n"
        "crc8 nope 0 - Live 0xffffffffc0239000\n"
        "ext4 1060864 1 - Live 0xffffffffc0400000\n",
        "modules");
    REQUIRE(list.modules().size() == 2);
    CHECK_FALSE(list.find("crc7")->base);
    CHECK_FALSE(list.find("crc7")->end());
    CHECK(list.find("ext4")->end() == 0xffffffffc0400000ULL + 1060864);
    REQUIRE(list.diagnostics().size() == 2);
    CHECK(list.diagnostics()[0] == "modules:2: malformed module line");
    CHECK(list.diagnostics()[1] == "modules:3: malformed module line");
}

TEST_CASE("module_list: states and same_modules ignore reference counts", "[symbols]") {
    const auto before = module_list::parse(
        "crc7 16384 0 - Live 0xffffffffc0232000\n"
        "klogd_test_mod 20480 0 - Loading 0xffffffffc0543000 (OE+)\n",
        "modules");
    REQUIRE(before.modules().size() == 2);
    CHECK(before.find("crc7")->state == "Live");
    CHECK(before.find("klogd_test_mod")->state == "Loading");
    // Only a user count changed: the same modules.
    CHECK(before.same_modules(module_list::parse(
        "crc7 16384 3 ext4, Live 0xffffffffc0232000\n"
        "klogd_test_mod 20480 0 - Loading 0xffffffffc0543000 (OE+)\n",
        "modules")));
    // Its init returned (Live), it went, it came back elsewhere: other modules.
    for (const char* later : {"crc7 16384 0 - Live 0xffffffffc0232000\n"
                              "klogd_test_mod 20480 0 - Live 0xffffffffc0543000 (OE)\n",
                              "crc7 16384 0 - Live 0xffffffffc0232000\n",
                              "crc7 16384 0 - Live 0xffffffffc0232000\n"
                              "klogd_test_mod 20480 0 - Loading 0xffffffffc0600000 (OE+)\n"}) {
        CHECK_FALSE(before.same_modules(module_list::parse(later, "modules")));
    }
}
