// The Debian 6.1.0-56-amd64 captures (tests/data/symbols, copied from shared/corpora): the
// kmsg line with raw addresses of a module symbol (crc7_be) and a core symbol (_printk).
#include <catch2/catch.hpp>
#include <string>

#include "klog/symbols/expander.hpp"
#include "klog/symbols/kallsyms.hpp"
#include "klog/symbols/kaslr.hpp"
#include "klog/symbols/map_selection.hpp"
#include "klog/symbols/module_list.hpp"
#include "klog/symbols/symbol_resolver.hpp"
#include "klog/symbols/system_map.hpp"

using namespace klog::symbols;

namespace {

const std::string data_dir = std::string(KLOG_TEST_DATA_DIR) + "/symbols/";

constexpr std::string_view sample_line =
    "klogd-sample: module addr [<ffffffffc0232000>] core addr [<fffffffface07e3d>] other [<>]";

// What the data says: crc7_be is crc7's only text symbol and the next crc7 symbol is
// `_note_10` at ffffffffc0233024 (size 0x1024); _printk at fffffffface07e3d is followed by
// devkmsg_release.cold at fffffffface07ec0 (size 0x83).
constexpr std::string_view expected_line =
    "klogd-sample: module addr [<ffffffffc0232000>] crc7_be+0x0/0x1024 [crc7] "
    "core addr [<fffffffface07e3d>] _printk+0x0/0x83 other [<>]";

struct corpus {
    module_list modules = module_list::load(data_dir + "proc-modules");
    kallsyms running = kallsyms::load(data_dir + "kallsyms", &modules);
    system_map map = system_map::load(data_dir + "System.map-6.1.0-56-amd64");
};

const corpus& shared_corpus() {
    static const corpus c;
    return c;
}

std::string expand(const symbol_resolver& r, std::string_view line) {
    std::string out;
    REQUIRE(expander(r).expand(line, out).expanded);
    return out;
}

}  // namespace

TEST_CASE("corpus: the captures load cleanly", "[symbols]") {
    const corpus& c = shared_corpus();
    CHECK(c.running.malformed_lines() == 0);
    CHECK(c.map.malformed_lines() == 0);
    CHECK_FALSE(c.running.addresses_hidden());
    CHECK(c.running.text_address() == 0xffffffffac400000ULL);
    CHECK(c.map.text_address() == 0xffffffff81000000ULL);
    CHECK(c.running.modules().module_count() == 2);
    CHECK(c.running.kernel().size() == c.map.table().size());
    CHECK(kaslr_offset(c.running, c.map) == 0x2b400000ULL);
}

TEST_CASE("corpus: the sample line expands with kallsyms only", "[symbols]") {
    const corpus& c = shared_corpus();
    symbol_resolver r;
    r.set_kernel(c.running.kernel());
    r.set_modules(c.running.modules(), c.modules);
    CHECK(expand(r, sample_line) == expected_line);
}

TEST_CASE("corpus: the sample line expands with System.map and the offset from kallsyms",
          "[symbols]") {
    const corpus& c = shared_corpus();
    const auto offset = kaslr_offset(c.running, c.map);
    REQUIRE(offset);
    symbol_resolver r;
    r.set_kernel(c.map.table(), *offset);
    r.set_modules(c.running.modules(), c.modules);
    CHECK(expand(r, sample_line) == expected_line);
}

TEST_CASE("corpus: the sample line expands with System.map and a Kernel Offset: line",
          "[symbols]") {
    const corpus& c = shared_corpus();
    const auto offset = parse_kernel_offset(
        "<0>[   12.345678] Kernel Offset: 0x2b400000 from 0xffffffff81000000 (relocation "
        "range: 0xffffffff80000000-0xffffffffbfffffff)");
    REQUIRE(offset);
    CHECK(offset->link_base == c.map.text_address());
    symbol_resolver r;
    r.set_kernel(c.map.table(), offset->offset);
    r.set_modules(c.running.modules(), c.modules);
    CHECK(expand(r, sample_line) == expected_line);

    // Without any offset the map's link-time addresses do not cover the KASLR address.
    symbol_resolver no_offset;
    no_offset.set_kernel(c.map.table());
    std::string out;
    CHECK_FALSE(expander(no_offset).expand("[<fffffffface07e3d>]", out).expanded);
}

TEST_CASE("corpus: the System.map agrees with the running kernel's kallsyms", "[symbols]") {
    const corpus& c = shared_corpus();
    const auto check = map_selection::compare(c.map, c.running);
    CHECK(check.agrees);
    CHECK(check.sampled == map_selection::sample_size);
    CHECK(check.found == check.sampled);
    CHECK(check.mismatched == 0);
}

TEST_CASE("corpus: an Oops-style stack against the real tables", "[symbols]") {
    const corpus& c = shared_corpus();
    symbol_resolver r;
    r.set_kernel(c.running.kernel());
    r.set_modules(c.running.modules(), c.modules);
    // Core symbols at runtime addresses: _printk+0x10 and record_print_text.cold+0x2.
    CHECK(expand(r, "RIP: 0010:0xfffffffface07e4d") ==
          "RIP: 0010:0xfffffffface07e4d _printk+0x10/0x83");
    CHECK(expand(r, " [<fffffffface07e33>] ? 0x0") ==
          " [<fffffffface07e33>] record_print_text.cold+0x2/0xc ? 0x0");
    CHECK(expand(r, " crc8 [<ffffffffc02390d4>]") ==
          " crc8 [<ffffffffc02390d4>] crc8+0x4/0xf54 [crc8]");
}
