// Golden tests: real kernel wordings (tests/data/incidents/*.log, each citing its source and
// kernel version) give the facts written in the file's `# expect: key=value` lines.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "klog/decoders/line_decoder.hpp"
#include "klog/incidents/incident_stage.hpp"
#include "test_support.hpp"

using klog::incidents::incident;

namespace {

std::string opt(const std::optional<std::uint32_t>& v) { return v ? std::to_string(*v) : ""; }

std::string first_frames(const incident& i) {
    std::string out;
    int n = 0;
    for (const auto& f : i.frames) {
        if (!f.reliable || f.function.empty()) continue;
        if (n++ == 3) break;
        if (!out.empty()) out += ',';
        out += f.function;
    }
    return out;
}

}  // namespace

TEST_CASE("real kernel wordings of 4.x 5.x and 6.x give the expected incidents", "[incidents]") {
    const std::filesystem::path dir = klog_test::data_path("incidents");
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".log") continue;
        std::ifstream in(entry.path(), std::ios::binary);
        std::map<std::string, std::string> expect;
        std::vector<std::map<std::string, std::string>> also;
        std::vector<incident> got;
        klog::incidents::incident_stage stage([&](const incident& i) { got.push_back(i); });
        std::uint64_t seq = 1;
        for (std::string line; std::getline(in, line);) {
            if (line.rfind("# expect: ", 0) == 0) {
                std::map<std::string, std::string> kv;
                std::string rest = line.substr(10);
                // key=value pairs; a value runs to the next ` key=` of a known key or the end
                const std::string key = rest.substr(0, rest.find('='));
                if (key == "also") {
                    std::istringstream words(rest);
                    std::string cur;
                    for (std::string w; words >> w;) {
                        const auto eq = w.find('=');
                        if (eq != std::string::npos && eq > 0 &&
                            w.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == eq) {
                            cur = w.substr(0, eq);
                            kv[cur] = w.substr(eq + 1);
                        } else if (!cur.empty()) {
                            kv[cur] += ' ' + w;
                        }
                    }
                    also.push_back(kv);
                } else {
                    expect[key] = rest.substr(key.size() + 1);
                }
                continue;
            }
            if (line.rfind('#', 0) == 0) continue;
            auto r = klog::decoders::line_decoder::parse_line(
                line, klog::decoders::line_decoder::prefix::optional);
            r.seq = seq++;
            stage.feed(r);
        }
        stage.finish();
        if (expect.empty()) continue;
        ++files;
        INFO(entry.path().filename().string());
        REQUIRE_FALSE(got.empty());
        // The file's main incident: the first of the expected kind (an oops may come first).
        const incident* main = &got.front();
        for (const auto& g : got) {
            if (std::string(klog::incidents::kind_name(g.kind)) == expect["kind"]) {
                main = &g;
                break;
            }
        }
        const auto& i = *main;
        CHECK(std::string(klog::incidents::kind_name(i.kind)) == expect["kind"]);
        if (expect.count("title")) CHECK(i.title == expect["title"]);
        if (expect.count("function")) CHECK(i.function == expect["function"]);
        if (expect.count("module")) CHECK(i.module == expect["module"]);
        if (expect.count("cpu")) CHECK(opt(i.cpu) == expect["cpu"]);
        if (expect.count("pid")) CHECK(opt(i.pid) == expect["pid"]);
        if (expect.count("comm")) CHECK(i.comm == expect["comm"]);
        if (expect.count("tainted")) CHECK(i.taint.value_or("") == expect["tainted"]);
        if (expect.count("frames")) CHECK(first_frames(i) == expect["frames"]);
        if (expect.count("blocked_seconds"))
            CHECK(opt(i.blocked_seconds) == expect["blocked_seconds"]);
        if (expect.count("reason")) CHECK(i.detail == expect["reason"]);
        CHECK_FALSE(i.signature.empty());
        for (const auto& a : also) {
            bool found = false;
            for (const auto& o : got) {
                if (&o == main) continue;
                if (std::string(klog::incidents::kind_name(o.kind)) != a.at("also")) continue;
                if (a.count("reason") && o.detail != a.at("reason")) continue;
                if (a.count("title") && o.title != a.at("title")) continue;
                found = true;
            }
            CHECK(found);
        }
    }
    CHECK(files >= 15);
}
