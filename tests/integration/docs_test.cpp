// The man page, --help and the README agree on every switch and long option, and the man
// page is clean for mandoc's linter.
#include <catch2/catch.hpp>
#include <regex>
#include <set>
#include <string>

#include "test_support.hpp"

namespace {

/// Every -X and --long-name in the option column of `klogd --help`.
std::set<std::string> options_in_help(const std::string& help) {
    std::set<std::string> found;
    const std::regex short_opt(R"(^  (-[A-Za-z0-9])\b)");
    const std::regex long_opt(R"(--([a-z][a-z0-9-]+))");
    std::size_t pos = 0;
    while (pos < help.size()) {
        const auto nl = help.find('\n', pos);
        const std::string line = help.substr(pos, nl - pos);
        pos = nl == std::string::npos ? help.size() : nl + 1;
        if (!line.starts_with("  -")) continue;
        const std::string column = line.substr(0, std::min<std::size_t>(line.size(), 25));
        std::smatch m;
        if (std::regex_search(column, m, short_opt)) found.insert(m[1]);
        for (auto it = std::sregex_iterator(column.begin(), column.end(), long_opt);
             it != std::sregex_iterator(); ++it) {
            found.insert("--" + (*it)[1].str());
        }
    }
    return found;
}

}  // namespace

TEST_CASE("klogd --help, man/klogd.8 and README.md name the same options", "[integration][docs]") {
    const auto help = klog_test::run_klogd({"--help"});
    REQUIRE(help.exit_code == 0);
    const auto options = options_in_help(help.out);
    // Every classic switch is there.
    for (const char* sw :
         {"-c", "-d", "-f", "-i", "-I", "-k", "-n", "-o", "-p", "-s", "-v", "-x", "-2"}) {
        CHECK(options.count(sw) == 1);
    }
    CHECK(options.size() > 20);
    const auto man = klog_test::read_file(std::string(KLOG_SOURCE_DIR) + "/man/klogd.8");
    const auto readme = klog_test::read_file(std::string(KLOG_SOURCE_DIR) + "/README.md");
    for (const auto& opt : options) {
        INFO("option " << opt);
        // In roff, '-' is written '\-'.
        std::string roff;
        for (char c : opt) roff += c == '-' ? std::string("\\-") : std::string(1, c);
        CHECK(man.find(roff) != std::string::npos);
        CHECK(readme.find("`" + opt) != std::string::npos);
    }
}

TEST_CASE("mandoc -T lint finds nothing in the man page", "[integration][docs]") {
    const auto r = klog_test::run_process(
        {"/usr/bin/mandoc", "-T", "lint", std::string(KLOG_SOURCE_DIR) + "/man/klogd.8"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.empty());
}
