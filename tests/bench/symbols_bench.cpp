// klog::symbols benchmark: load time of the corpus kallsyms and System.map (median of several
// runs), lookups per second on one core, and oops-line expansions per second, each beside its
// target as a ratio (> 1.00 = better than the target). Reported, never asserted. Prints markdown
// table rows (| area | what | result | ratio | target |) for tests/bench/run-bench.sh.
//
//   symbols_bench KALLSYMS SYSTEM_MAP [PROC_MODULES [HOST_KALLSYMS [HOST_MODULES]]]
//
// With HOST_KALLSYMS (this machine's /proc/kallsyms, issue 16) four more rows: its load, the
// read alone (no parsing: the kernel's cost of producing the text, the floor of any load), the
// load of a copy of it in a regular file (parse and table cost without the kernel's), and
// lookups of random addresses in its table. HOST_MODULES (/proc/modules) may be absent: the
// module symbols then have no module bounds, as klogd runs there.
//
// Only APIs that the symbol tables had before issue 16 are used (kallsyms::load(path, modules),
// the resolver, table size and bounds), so run-bench.sh --previous-tools can run this very
// source built against an older tree beside this one.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

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

// A row whose ratio and target are text of their own.
void text_row(const std::string& what, const std::string& result, const std::string& ratio,
              const std::string& target) {
    std::printf("| symbols | %s | %s | %s | %s |\n", what.c_str(), result.c_str(), ratio.c_str(),
                target.c_str());
}

std::string fixed(double value, int decimals) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    return buffer;
}

// Reads `path` to its end with read(2) in 64 KiB blocks (the block size of the table loads),
// into `text` if given, else into a buffer that is overwritten (a /dev/null of our own).
// Returns the bytes read.
std::size_t read_whole(const std::string& path, std::string* text) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), path);
    static char block[64 * 1024];
    std::size_t total = 0;
    for (;;) {
        const ssize_t n = ::read(fd, block, sizeof block);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int error = errno;
            ::close(fd);
            throw std::system_error(error, std::generic_category(), path);
        }
        if (n == 0) break;
        if (text) text->append(block, static_cast<std::size_t>(n));
        total += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return total;
}

// Lookups per second: the median of `runs` passes over `addresses` (a pass of a million takes
// tens of ms, so one preempted pass does not move the figure); `checksum` keeps the lookups
// from being optimized away.
double lookup_rate(const klog::symbols::symbol_resolver& resolver,
                   const std::vector<std::uint64_t>& addresses, int runs,
                   std::uint64_t& checksum) {
    const double ms = median_ms(runs, [&] {
        for (const std::uint64_t a : addresses) {
            const auto m = resolver.lookup(a);
            checksum += m ? m->offset : 1;
        }
    });
    return static_cast<double>(addresses.size()) / (ms / 1000.0);
}

// This machine's kallsyms (issue 16): load, read floor, load of a regular-file copy, lookups.
void host_rows(const std::string& path, const std::string& modules_path, int runs,
               std::uint64_t& checksum) {
    using namespace klog::symbols;
    module_list modules;
    const module_list* modules_ptr = nullptr;
    if (!modules_path.empty()) {
        try {
            modules = module_list::load(modules_path);
            modules_ptr = &modules;
        } catch (const std::system_error& e) {
            // As klogd: module sizes unknown (this host may have no /proc/modules at all).
            std::fprintf(stderr, "symbols_bench: module sizes unknown: %s\n", e.what());
        }
    }
    std::string text;
    read_whole(path, &text);
    const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    const std::string mib = fixed(static_cast<double>(text.size()) / (1024.0 * 1024.0), 1);
    const std::string median = "median of " + std::to_string(runs);

    std::size_t stored = 0;
    std::size_t core = 0;
    bool hidden = false;
    const double load_ms = median_ms(runs, [&] {
        const kallsyms k = kallsyms::load(path, modules_ptr);
        core = k.kernel().size();
        stored = core + k.modules().size();
        hidden = k.addresses_hidden();
    });
    if (hidden) {
        text_row("load this machine's " + path + " (" + std::to_string(lines) + " lines)",
                 "not measured: every address reads 0 (kernel.kptr_restrict, or no CAP_SYSLOG)",
                 "", "< 30 ms");
        return;
    }
    row(("load this machine's " + path + " (" + std::to_string(lines) + " lines; " +
         std::to_string(stored) + " symbols stored, " + std::to_string(core) + " core; " + median +
         ")")
            .c_str(),
        load_ms, "ms", 30.0, "<", 30.0 / load_ms);

    const double read_ms = median_ms(runs, [&] { read_whole(path, nullptr); });
    text_row("read " + path + " alone, no parsing (" + mib +
                 " MiB in 64 KiB reads: the kernel producing the text, the floor of a load; " +
                 median + ")",
             fixed(read_ms, 2) + " ms", fixed(100.0 * read_ms / load_ms, 0) + " % of the load",
             "(floor)");

    // The same text from a regular file in the page cache: the parse and table cost alone.
    const std::filesystem::path copy = std::filesystem::temp_directory_path() /
                                       ("symbols_bench-kallsyms." + std::to_string(::getpid()));
    {
        const int fd = ::open(copy.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) throw std::system_error(errno, std::generic_category(), copy.string());
        std::size_t done = 0;
        while (done < text.size()) {
            const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                const int error = errno;
                ::close(fd);
                std::filesystem::remove(copy);
                throw std::system_error(error, std::generic_category(), copy.string());
            }
            done += static_cast<std::size_t>(n);
        }
        ::close(fd);
    }
    std::size_t copy_stored = 0;
    const double copy_ms = median_ms(runs, [&] {
        const kallsyms k = kallsyms::load(copy, modules_ptr);
        copy_stored = k.kernel().size() + k.modules().size();
    });
    std::filesystem::remove(copy);
    text_row("load a copy of it in a regular file (page cache: parsing and tables without the "
             "kernel's cost; " + std::to_string(copy_stored) + " symbols stored; " + median + ")",
             fixed(copy_ms, 2) + " ms", fixed(100.0 * copy_ms / load_ms, 0) + " % of the load",
             "(parse cost)");

    // Lookups: random runtime addresses inside the core table, as the corpus row.
    kallsyms loaded = kallsyms::load(path, modules_ptr);
    symbol_resolver resolver;
    resolver.set_kernel(loaded.take_kernel());
    resolver.set_modules(loaded.take_modules(), modules_ptr ? modules : module_list{});
    const symbol_table& kernel = resolver.kernel();
    std::mt19937_64 rng(16);
    const std::uint64_t low = kernel.lowest_address();
    const std::uint64_t span = kernel.highest_end() - low;
    std::vector<std::uint64_t> addresses(1 << 20);
    for (auto& a : addresses) a = low + (span ? rng() % span : 0);
    const double rate = lookup_rate(resolver, addresses, runs, checksum);
    row(("lookups (random addresses in this machine's kallsyms table; " + median + " passes of " +
         std::to_string(addresses.size()) + ")")
            .c_str(),
        rate / 1e6, "M/s", 10.0, ">", rate / 1e7);
}

}  // namespace

int main(int argc, char** argv) try {
    if (argc < 3) {
        std::fprintf(stderr,
                     "usage: %s KALLSYMS SYSTEM_MAP [PROC_MODULES [HOST_KALLSYMS [HOST_MODULES]]]\n",
                     argv[0]);
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
    const double lookups_per_s = lookup_rate(resolver, addresses, runs, checksum);
    row(("lookups (random addresses in the table; median of " + std::to_string(runs) +
         " passes of " + std::to_string(addresses.size()) + ")")
            .c_str(),
        lookups_per_s / 1e6, "M/s", 10.0, ">", lookups_per_s / 1e7);

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

    if (argc > 4) host_rows(argv[4], argc > 5 ? argv[5] : "", runs, checksum);
    std::fprintf(stderr, "symbols_bench: checksum %llx\n",
                 static_cast<unsigned long long>(checksum));
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "symbols_bench: %s\n", e.what());
    return 1;
}
