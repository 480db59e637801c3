// Issue 12: `-k`, `--kallsyms` and `--modules` pointed at the wrong file (a secret) are refused
// at start from their first lines, and no diagnostic ever quotes such a file.
#include "klog/symbols/symbol_file_check.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>

#include "klog/symbols/kallsyms.hpp"
#include "klog/symbols/module_list.hpp"
#include "klog/symbols/system_map.hpp"
#include "test_support.hpp"

using klog::symbols::symbol_file_check;
using kind = symbol_file_check::kind;

namespace {

/// Lines of a shadow file: what must never reach a log.
const std::string secret =
    "root:$6$Zm9vYmFy$S3CR3TH4SHS3CR3TH4SHS3CR3TH4SH:19000:0:99999:7:::\n"
    "daemon:*:19000:0:99999:7:::\n";

}  // namespace

TEST_CASE("symbol diagnostics give file and line, never a line of the file", "[symbols][hostile]") {
    const std::string text = "ffffffff81000000 T _text\n" + secret;
    const auto map = klog::symbols::system_map::parse(text, "map");
    const auto kall = klog::symbols::kallsyms::parse(text, "kallsyms", nullptr);
    const auto mods = klog::symbols::module_list::parse("crc7 16384 0 - Live 0x0\n" + secret, "m");
    std::vector<std::string> all = map.diagnostics();
    all.insert(all.end(), kall.diagnostics().begin(), kall.diagnostics().end());
    all.insert(all.end(), mods.diagnostics().begin(), mods.diagnostics().end());
    CHECK(all.size() == 6);
    for (const auto& d : all) {
        CHECK(d.find("S3CR3T") == std::string::npos);
        CHECK(d.find("root") == std::string::npos);
        CHECK(d.find("daemon") == std::string::npos);
    }
    CHECK(map.diagnostics().front() == "map:2: malformed symbol line");
}

TEST_CASE("symbol_file_check: the real files pass, others are refused without quoting them",
          "[symbols][hostile]") {
    CHECK_FALSE(symbol_file_check::problem(
        klog_test::data_path("symbols/System.map-6.1.0-56-amd64"), kind::system_map));
    CHECK_FALSE(
        symbol_file_check::problem(klog_test::data_path("symbols/kallsyms"), kind::kallsyms));
    CHECK_FALSE(
        symbol_file_check::problem(klog_test::data_path("symbols/proc-modules"), kind::modules));
    // A kallsyms file is a fine -k (same syntax); a map is no modules file.
    CHECK_FALSE(
        symbol_file_check::problem(klog_test::data_path("symbols/kallsyms"), kind::system_map));
    CHECK(symbol_file_check::problem(klog_test::data_path("symbols/kallsyms"), kind::modules));

    klog_test::temp_dir dir;
    const auto shadow = dir.file("shadow");
    klog_test::write_file(shadow, secret);
    ::chmod(shadow.c_str(), 0600);
    for (const auto k : {kind::system_map, kind::kallsyms, kind::modules}) {
        const auto problem = symbol_file_check::problem(shadow, k);
        REQUIRE(problem);
        CHECK(problem->find("not a") != std::string::npos);
        CHECK(problem->find("S3CR3T") == std::string::npos);
        CHECK(problem->find("root") == std::string::npos);
    }
    CHECK(*symbol_file_check::problem(shadow, kind::system_map) ==
          "not a System.map (no `ADDRESS TYPE NAME` line among its first 2 lines)");
    CHECK(*symbol_file_check::problem(dir.file("missing"), kind::system_map) ==
          "No such file or directory");
    CHECK(*symbol_file_check::problem(dir.path(), kind::kallsyms) == "is a directory");
    CHECK(*symbol_file_check::problem("/dev/null", kind::system_map) == "not a regular file");
    const auto passwd = symbol_file_check::problem("/etc/passwd", kind::system_map);
    REQUIRE(passwd);
    CHECK(passwd->starts_with("not a System.map (no `ADDRESS TYPE NAME` line among its first "));
}

TEST_CASE("symbol_file_check: what the first lines must show", "[symbols]") {
    using C = symbol_file_check;
    // One valid line among the first 16 is enough; blank lines are no evidence.
    CHECK_FALSE(C::problem_in("junk\nffffffff81000000 T _text\n", kind::system_map, true));
    CHECK(C::problem_in(std::string(16, '\n') + "ffffffff81000000 T _text\n", kind::system_map,
                        true));
    std::string late;
    for (int i = 0; i < 16; ++i) late += "junk\n";
    CHECK(C::problem_in(late + "ffffffff81000000 T _text\n", kind::kallsyms, true));
    // Empty: no module loaded is fine; an empty map is not.
    CHECK_FALSE(C::problem_in("", kind::modules, true));
    CHECK_FALSE(C::problem_in("\n\n", kind::modules, true));
    CHECK(*C::problem_in("", kind::system_map, true) == "empty: not a System.map");
    CHECK(*C::problem_in("\n", kind::kallsyms, true) == "empty: not a kallsyms file");
    // A head cut mid-line: the cut line is not judged.
    CHECK_FALSE(C::problem_in("ffffffff81000000 T _text\nffffff", kind::system_map, false));
    CHECK(*C::problem_in("ffffffff81000000 T _te", kind::system_map, false) ==
          "no complete line in its first 64 KiB: not a System.map");
    CHECK_FALSE(C::problem_in("ffffffff81000000 T _text", kind::system_map, true));
}
