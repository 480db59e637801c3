// klog::symbols benchmark: load time of the corpus kallsyms and System.map (median of several
// runs), lookups per second on one core, and oops-line expansions per second, each beside its
// target as a ratio (> 1.00 = better than the target). Reported, never asserted. Prints markdown
// table rows (| area | what | result | ratio | target |) for tests/bench/run-bench.sh.
//
//   symbols_bench KALLSYMS SYSTEM_MAP [PROC_MODULES]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include "klog/symbols/expander.hpp"
#include "klog/symbols/kallsyms.hpp"
#include "klog/symbols/kaslr.hpp"
#include "klog/symbols/module_list.hpp"
#include "klog/symbols/symbol_resolver.hpp"
#include "klog/symbols/system_map.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point start) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

template <typename F>
double median_ms(int runs, F&& f) {
    std::vector<double> times;
    for (int i = 0; i < runs; ++i) {
        const auto start = clock_type::now();
        f();
        times.push_back(ms_since(start));
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

// One markdown table row: | area | what | result | ratio to target (> 1 = better) | target |
void row(const char* what, double value, const char* unit, double target, const char* relation,
         double ratio) {
    std::printf("| symbols | %s | %.2f %s | %.2f x target | %s %.4g %s |\n", what, value, unit,
                ratio, relation, target, unit);
}

}  // namespace

int main(int argc, char** argv) try {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s KALLSYMS SYSTEM_MAP [PROC_MODULES]\n", argv[0]);
        return 2;
    }
    using namespace klog::symbols;
    const std::string kallsyms_path = argv[1];
    const std::string map_path = argv[2];
    const module_list modules = argc > 3 ? module_list::load(argv[3]) : module_list{};
    constexpr int runs = 9;

    std::size_t symbols = 0;
    const double kallsyms_ms =
        median_ms(runs, [&] { symbols = kallsyms::load(kallsyms_path, &modules).kernel().size(); });
    row(("load corpus kallsyms (" + std::to_string(symbols) + " core symbols; median of " +
         std::to_string(runs) + ")")
            .c_str(),
        kallsyms_ms, "ms", 30.0, "<", 30.0 / kallsyms_ms);
    const double map_ms =
        median_ms(runs, [&] { symbols = system_map::load(map_path).table().size(); });
    row(("load corpus System.map (" + std::to_string(symbols) + " symbols; median of " +
         std::to_string(runs) + ")")
            .c_str(),
        map_ms, "ms", 30.0, "<", 30.0 / map_ms);

    auto running = kallsyms::load(kallsyms_path, &modules);
    const auto map = system_map::load(map_path);
    symbol_resolver resolver;
    resolver.set_kernel(map.table(), kaslr_offset(running, map).value_or(0));
    resolver.set_modules(running.take_modules(), modules);
    const symbol_table& kernel = resolver.kernel();

    // Lookups: random runtime addresses inside the core table.
    std::mt19937_64 rng(42);
    const std::uint64_t low = kernel.lowest_address();
    const std::uint64_t span = kernel.highest_end() - low;
    std::vector<std::uint64_t> addresses(1 << 20);
    for (auto& a : addresses) a = low + rng() % span + resolver.kernel_offset();
    std::uint64_t checksum = 0;
    constexpr int lookup_rounds = 8;
    const auto lookup_start = clock_type::now();
    for (int round = 0; round < lookup_rounds; ++round) {
        for (const std::uint64_t a : addresses) {
            const auto m = resolver.lookup(a);
            checksum += m ? m->offset : 1;
        }
    }
    const double lookup_s = ms_since(lookup_start) / 1000.0;
    const double lookups_per_s = lookup_rounds * static_cast<double>(addresses.size()) / lookup_s;
    row("lookups (random addresses in the table)", lookups_per_s / 1e6, "M/s", 10.0, ">",
        lookups_per_s / 1e7);

    // Expansion of an oops-like mix: call trace lines, RIP, already symbolized, plain text.
    const std::uint64_t off = resolver.kernel_offset();
    char buffer[160];
    std::vector<std::string> lines;
    const auto address_line = [&](const char* format, std::uint64_t address) {
        std::snprintf(buffer, sizeof buffer, format, static_cast<unsigned long long>(address));
        lines.emplace_back(buffer);
    };
    address_line("RIP: 0010:0x%llx", 0xffffffff81a07e4dULL + off);
    lines.emplace_back("Code: 48 89 e5 41 57 41 56 41 55 41 54 53 48 83 ec 10 <0f> 0b");
    lines.emplace_back("RSP: 0018:ffffb4e0c0013d98 EFLAGS: 00010246");
    lines.emplace_back("Call Trace:");
    for (int i = 0; i < 8; ++i) {
        address_line(" [<%llx>] ? 0x0", low + rng() % span + off);
    }
    address_line(" [<%llx>]", 0xffffffffc0232010ULL);
    lines.emplace_back(" ? _printk+0x0/0x83");
    lines.emplace_back("usb 1-1: new high-speed USB device number 2 using ehci-pci");
    lines.emplace_back("EXT4-fs (sda1): mounted filesystem with ordered data mode.");
    const expander e(resolver);
    std::string out;
    std::size_t expanded = 0;
    constexpr int expand_rounds = 100000;
    const auto expand_start = clock_type::now();
    for (int round = 0; round < expand_rounds; ++round) {
        for (const std::string& line : lines) expanded += e.expand(line, out).expanded ? 1 : 0;
    }
    const double expand_s = ms_since(expand_start) / 1000.0;
    const double lines_per_s = expand_rounds * static_cast<double>(lines.size()) / expand_s;
    const std::string what = "oops-like lines expanded (" +
                             std::to_string(expanded / expand_rounds) + " of " +
                             std::to_string(lines.size()) + " lines with addresses; own bar)";
    row(what.c_str(), lines_per_s / 1e6, "M lines/s", 1.0, ">", lines_per_s / 1e6);
    std::fprintf(stderr, "symbols_bench: checksum %llx\n",
                 static_cast<unsigned long long>(checksum));
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "symbols_bench: %s\n", e.what());
    return 1;
}
