#include "klog/symbols/map_selection.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "klog/symbols/kaslr.hpp"

using namespace klog::symbols;
namespace fs = std::filesystem;

namespace {

// A private directory of candidate maps, removed afterwards.
struct temp_dir {
    fs::path path;
    temp_dir() {
        path = fs::temp_directory_path() / ("klog-symbols-test-" + std::to_string(::getpid()) +
                                            "-" + std::to_string(counter()++));
        fs::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    static int& counter() {
        static int n = 0;
        return n;
    }
    fs::path write(const std::string& name, const std::string& text) const {
        const fs::path p = path / name;
        std::ofstream(p) << text;
        return p;
    }
};

// A kernel with symbols every 0x100 bytes from `text`; `shift` moves every symbol after the
// first by that much (another build of "the same" kernel).
std::string kernel_text(std::uint64_t text, std::uint64_t shift = 0, int count = 200) {
    std::string out;
    char line[80];
    for (int i = 0; i < count; ++i) {
        const std::uint64_t a = text + static_cast<std::uint64_t>(i) * 0x100 + (i ? shift : 0);
        std::snprintf(line, sizeof line, "%016llx T %s\n", static_cast<unsigned long long>(a),
                      i == 0 ? "_text" : ("func_" + std::to_string(i)).c_str());
        out += line;
    }
    return out;
}

const std::string release = "6.1.0-56-amd64";

}  // namespace

TEST_CASE("map_selection: classic search list", "[symbols]") {
    const auto paths = map_selection::classic_paths(release);
    REQUIRE(paths.size() == 4);
    CHECK(paths[0] == "/boot/System.map-6.1.0-56-amd64");
    CHECK(paths[1] == "/boot/System.map");
    CHECK(paths[2] == "/System.map");
    CHECK(paths[3] == "/usr/src/linux/System.map");
    CHECK(map_selection::classic_paths("").size() == 3);
    CHECK_FALSE(map_selection::running_release().empty());
}

TEST_CASE("map_selection: the first map that agrees with kallsyms wins", "[symbols]") {
    temp_dir dir;
    const auto running = kallsyms::parse(kernel_text(0xffffffffac400000ULL), "kallsyms");
    map_selection::request req;
    req.release = release;
    req.candidates = {dir.path / "missing",
                      dir.write("other-build", kernel_text(0xffffffff81000000ULL, 0x40)),
                      dir.write("same-build", kernel_text(0xffffffff81000000ULL)),
                      dir.write("later", kernel_text(0xffffffff81000000ULL))};
    const auto sel = map_selection::select(req, &running);
    REQUIRE(sel.map);
    CHECK(sel.path == dir.path / "same-build");
    CHECK(kaslr_offset(running, *sel.map) == 0x2b400000ULL);
    CHECK(sel.message == "using System.map " + (dir.path / "same-build").string() +
                             ", agrees with kallsyms (64 of 64 sampled symbols)");
}

TEST_CASE("map_selection: a map of another kernel is rejected, with the reason", "[symbols]") {
    temp_dir dir;
    const auto running = kallsyms::parse(kernel_text(0xffffffffac400000ULL), "kallsyms");
    map_selection::request req;
    req.release = release;
    const auto other = dir.write("System.map-other", kernel_text(0xffffffff81000000ULL, 0x40));
    const auto no_text = dir.write("System.map-notext", "ffffffff81000100 T func_1\n");
    req.candidates = {dir.path / "nothing-here", other, no_text};
    const auto sel = map_selection::select(req, &running);
    CHECK_FALSE(sel.map);
    CHECK(sel.message ==
          "no System.map used: " + (dir.path / "nothing-here").string() + ": not found; " +
              other.string() +
              ": does not match the running kernel (63 of 64 sampled symbols are elsewhere "
              "than in kallsyms (KASLR offset 0x2b400000)); " +
              no_text.string() + ": does not match the running kernel (it has no _text symbol)");

    const auto c = map_selection::compare(system_map::load(other), running);
    CHECK_FALSE(c.agrees);
    CHECK(c.found == 64);
    CHECK(c.mismatched == 63);
}

TEST_CASE("map_selection: hidden kallsyms: only a map named for the release", "[symbols]") {
    temp_dir dir;
    const auto hidden = kallsyms::parse("0000000000000000 T _text\n", "kallsyms");
    REQUIRE(hidden.addresses_hidden());
    map_selection::request req;
    req.release = release;
    const auto plain = dir.write("System.map", kernel_text(0xffffffff81000000ULL));
    const auto named = dir.write("System.map-" + release, kernel_text(0xffffffff81000000ULL));
    req.candidates = {plain, named};
    auto sel = map_selection::select(req, &hidden);
    REQUIRE(sel.map);
    CHECK(sel.path == named);
    CHECK(sel.message == "using System.map " + named.string() +
                             ", named for the running release 6.1.0-56-amd64 (kallsyms shows "
                             "no addresses to check it against)");

    // No kallsyms at all behaves the same; no named map: none, and why.
    req.candidates = {plain};
    sel = map_selection::select(req, nullptr);
    CHECK_FALSE(sel.map);
    CHECK(sel.message == "no System.map used: " + plain.string() +
                             ": cannot be checked (kallsyms shows no addresses) and its name "
                             "does not carry the running release 6.1.0-56-amd64");
}

TEST_CASE("map_selection: -k is used as given, even when it disagrees", "[symbols]") {
    temp_dir dir;
    const auto running = kallsyms::parse(kernel_text(0xffffffffac400000ULL), "kallsyms");
    map_selection::request req;
    req.release = release;
    req.explicit_path = dir.write("crashed.map", kernel_text(0xffffffff81000000ULL, 0x40));
    req.candidates = {dir.write("good", kernel_text(0xffffffff81000000ULL))};
    const auto sel = map_selection::select(req, &running);
    REQUIRE(sel.map);
    CHECK(sel.path == *req.explicit_path);
    CHECK(sel.message.find("(-k); it does not match the running kernel") != std::string::npos);

    req.explicit_path = dir.path / "absent.map";
    CHECK_THROWS_AS(map_selection::select(req, &running), std::system_error);
}

TEST_CASE("kaslr: Kernel Offset lines", "[symbols]") {
    auto k = parse_kernel_offset(
        "Kernel Offset: 0x2b400000 from 0xffffffff81000000 (relocation range: "
        "0xffffffff80000000-0xffffffffbfffffff)");
    REQUIRE(k);
    CHECK(k->offset == 0x2b400000U);
    CHECK(k->link_base == 0xffffffff81000000ULL);

    k = parse_kernel_offset("<0>[  3.1] Kernel Offset: 0x1f0a00000 from 0xffff800008000000");
    REQUIRE(k);
    CHECK(k->offset == 0x1f0a00000ULL);
    CHECK(k->link_base == 0xffff800008000000ULL);

    k = parse_kernel_offset("Kernel Offset: disabled");
    REQUIRE(k);
    CHECK(k->offset == 0);
    CHECK_FALSE(k->link_base);

    CHECK_FALSE(parse_kernel_offset("Kernel Offset: garbage"));
    CHECK_FALSE(parse_kernel_offset("Kernel Offset: 0x"));
    CHECK_FALSE(parse_kernel_offset("no offset here"));
    CHECK(parse_kernel_offset("Kernel Offset: 0x10")->offset == 0x10);
}

TEST_CASE("kaslr: offset needs _text on both sides", "[symbols]") {
    const auto running = kallsyms::parse("ffffffffac400000 T _stext\n", "kallsyms");
    const auto map = system_map::parse("ffffffff81000000 T _text\n", "map");
    CHECK(kaslr_offset(running, map) == 0x2b400000ULL);  // _stext stands in for _text
    const auto hidden = kallsyms::parse("0000000000000000 T _text\n", "kallsyms");
    CHECK_FALSE(kaslr_offset(hidden, map));
    CHECK_FALSE(kaslr_offset(running, system_map::parse("ffffffff81000100 T f\n", "map")));
}

TEST_CASE("kaslr: the Kernel Offset line of a saved log, wherever it falls", "[symbols]") {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("klogd-offset-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto write = [&](const std::string& name, const std::string& text) {
        std::ofstream(dir / name, std::ios::binary) << text;
        return (dir / name).string();
    };
    const std::string offset_line = "Kernel Offset: 0x2b400000 from 0xffffffff81000000";
    std::string filler;
    for (int i = 0; i < 3000; ++i) filler += "<6>[    1.000000] line " + std::to_string(i) + "\n";
    const std::vector<std::pair<std::string, std::string>> logs = {
        {"middle", filler + "<0>[  9.0] " + offset_line + "\n" + filler},
        // Across the 64 KiB block boundary (the filler is about 88 KiB).
        {"boundary", filler.substr(0, 65530) + "\n<0>[  9.0] " + offset_line + "\n"},
        {"last line without newline", filler + "<0>[  9.0] " + offset_line},
        {"a bad one first", "Kernel Offset: garbage\n" + offset_line + "\n"},
    };
    for (const auto& [name, text] : logs) {
        INFO(name);
        std::string line;
        const auto off = kernel_offset_in_log(write("log", text), line);
        REQUIRE(off);
        CHECK(off->offset == 0x2b400000U);
        CHECK(line == offset_line);
    }
    std::string line;
    CHECK_FALSE(kernel_offset_in_log(write("none", filler), line));
    CHECK_FALSE(kernel_offset_in_log((dir / "missing").string(), line));
    std::filesystem::remove_all(dir);
}
