#include "klog/symbols/symbol_loader.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "klog/symbols/expander.hpp"

using namespace klog::symbols;
namespace fs = std::filesystem;

namespace {

const fs::path data_dir = fs::path(KLOG_TEST_DATA_DIR) / "symbols";

struct scratch {
    fs::path path =
        fs::temp_directory_path() / ("klog-loader-test-" + std::to_string(::getpid()) + "-" +
                                     std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    scratch() { fs::create_directories(path); }
    ~scratch() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    fs::path write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name) << text;
        return path / name;
    }
};

constexpr std::string_view sample_line =
    "klogd-sample: module addr [<ffffffffc0232000>] core addr [<fffffffface07e3d>] other [<>]";
constexpr std::string_view expected_line =
    "klogd-sample: module addr [<ffffffffc0232000>] crc7_be+0x0/0x1024 [crc7] "
    "core addr [<fffffffface07e3d>] _printk+0x0/0x83 other [<>]";

std::string expand(const symbol_resolver& r, std::string_view line) {
    std::string out;
    return expander(r).expand(line, out).expanded ? out : std::string(line);
}

}  // namespace

TEST_CASE("symbol_loader: kallsyms of the running kernel, no map search", "[symbols]") {
    symbol_loader::config cfg;
    cfg.kallsyms = data_dir / "kallsyms";
    cfg.modules = data_dir / "proc-modules";
    cfg.map_candidates = {"/nonexistent/System.map"};
    symbol_loader loader(cfg);
    symbol_resolver r;
    const auto messages = loader.load_all(r);
    REQUIRE(messages.size() == 1);
    CHECK(messages[0] == "kernel symbols from " + cfg.kallsyms.string());
    CHECK(expand(r, sample_line) == expected_line);
    CHECK(loader.load_all(r).empty());  // said once
    CHECK(expand(r, sample_line) == expected_line);
}

TEST_CASE("symbol_loader: -k map with the offset from kallsyms, modules reload alone",
          "[symbols]") {
    scratch dir;
    symbol_loader::config cfg;
    cfg.system_map = data_dir / "System.map-6.1.0-56-amd64";
    cfg.kallsyms = dir.write("kallsyms",
                             "ffffffffac400000 T _text\n"
                             "fffffffface07e3d T _printk\n"
                             "fffffffface07ec0 t devkmsg_release.cold\n");
    cfg.modules = dir.write("modules", "");
    symbol_loader loader(cfg);
    symbol_resolver r;
    const auto messages = loader.load_all(r);
    REQUIRE_FALSE(messages.empty());
    CHECK(messages[0].rfind("using System.map " + cfg.system_map->string() + " (-k)", 0) == 0);
    CHECK(r.kernel_offset() == 0x2b400000U);
    CHECK(expand(r, "[<fffffffface07e3d>]") == "[<fffffffface07e3d>] _printk+0x0/0x83");
    std::string out;
    CHECK(expander(r).expand("[<ffffffffc0232000>]", out).unknown_module_address);

    // A module appears: SIGUSR1 reloads modules only.
    dir.write("kallsyms",
              "ffffffffac400000 T _text\n"
              "fffffffface07e3d T _printk\n"
              "ffffffffc0232000 T crc7_be\t[crc7]\n");
    dir.write("modules", "crc7 16384 0 - Live 0xffffffffc0232000\n");
    CHECK(loader.load_modules(r).empty());
    CHECK(expand(r, "[<ffffffffc0232000>]") == "[<ffffffffc0232000>] crc7_be+0x0/0x4000 [crc7]");
    CHECK(expand(r, "[<fffffffface07e3d>]") == "[<fffffffface07e3d>] _printk+0x0/0x83");
}

TEST_CASE("symbol_loader: kptr_restrict said once, map named for the release used", "[symbols]") {
    scratch dir;
    symbol_loader::config cfg;
    cfg.kallsyms = dir.write("kallsyms",
                             "0000000000000000 T _text\n"
                             "0000000000000000 T crc7_be\t[crc7]\n");
    cfg.modules = dir.write("modules", "crc7 16384 0 - Live 0x0000000000000000\n");
    cfg.release = "6.1.0-56-amd64";
    const auto map = dir.path / "System.map-6.1.0-56-amd64";
    fs::copy_file(data_dir / "System.map-6.1.0-56-amd64", map);
    cfg.map_candidates = {map};
    symbol_loader loader(cfg);
    symbol_resolver r;
    const auto messages = loader.load_all(r);
    REQUIRE(messages.size() == 3);
    CHECK(messages[0] == cfg.kallsyms.string() +
                             " shows only zero addresses (kernel.kptr_restrict, or no "
                             "CAP_SYSLOG): its symbols are unavailable");
    CHECK(messages[1].rfind("using System.map " + map.string() + ", named for the running", 0) ==
          0);
    CHECK(messages[2] == "KASLR offset unknown: " + map.string() +
                             " addresses used as linked (wrong if the kernel was relocated)");
    CHECK(expand(r, "[<ffffffff81a07e3d>]") == "[<ffffffff81a07e3d>] _printk+0x0/0x83");
    CHECK(loader.load_all(r).empty());
    CHECK(loader.load_modules(r).empty());
}

TEST_CASE("symbol_loader: nothing readable leaves addresses raw, with a reason", "[symbols]") {
    symbol_loader::config cfg;
    cfg.kallsyms = "/nonexistent/kallsyms";
    cfg.modules = "/nonexistent/modules";
    cfg.map_candidates = {"/nonexistent/System.map"};
    cfg.release = "6.1.0-56-amd64";
    symbol_loader loader(cfg);
    symbol_resolver r;
    const auto messages = loader.load_all(r);
    REQUIRE(messages.size() == 4);
    CHECK(messages[0].rfind("module sizes unknown: cannot open /nonexistent/modules", 0) == 0);
    CHECK(messages[1].rfind("kallsyms unavailable: cannot open /nonexistent/kallsyms", 0) == 0);
    CHECK(messages[2] == "no System.map used: /nonexistent/System.map: not found");
    CHECK(messages[3] == "no kernel symbols: kernel addresses stay raw");
    CHECK(r.empty());
}
