#include "klogd/symbol_stage.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

const std::string kallsyms_core =
    "ffffffffac400000 T _text\n"
    "fffffffface07e3d T _printk\n"
    "fffffffface07ec0 T vprintk\n";
const std::string kallsyms_crc7 =
    "ffffffffc0232000 T crc7_be\t[crc7]\n"
    "ffffffffc0232040 t crc7_end\t[crc7]\n";

struct stage_fixture {
    klog_test::temp_dir dir;
    std::vector<std::string> said;
    std::string kallsyms = dir.file("kallsyms");
    std::string modules = dir.file("modules");

    stage_fixture() {
        klog_test::write_file(kallsyms, kallsyms_core);
        klog_test::write_file(modules, "");
    }
    klogd::symbol_stage make(bool oops_reload, bool both,
                             std::chrono::steady_clock::duration interval) {
        klog::symbols::symbol_loader::config cfg;
        cfg.kallsyms = kallsyms;
        cfg.modules = modules;
        klogd::symbol_stage stage(
            cfg, oops_reload, both, [this](const std::string& l) { said.push_back(l); }, interval);
        stage.reload_all();
        return stage;
    }
    /// crc7 is loaded: it appears in both tables at once, as in the kernel.
    void load_crc7() {
        klog_test::write_file(kallsyms, kallsyms_core + kallsyms_crc7);
        klog_test::write_file(modules, "crc7 16384 0 - Live 0xffffffffc0232000\n");
    }
    static klog::record_view kernel(std::string_view text) {
        klog::record_view r;
        r.text = text;
        return r;
    }
};

}  // namespace

TEST_CASE("symbol_stage: an address in no known module reloads modules, rate-limited",
          "[klogd][symbols]") {
    stage_fixture f;
    auto limited = f.make(false, false, std::chrono::hours(1));
    auto eager = f.make(false, false, std::chrono::seconds(0));
    std::string out;
    const auto rec = stage_fixture::kernel("at [<ffffffffc0232000>]");
    CHECK_FALSE(eager.rewrite(rec, out));  // not loaded yet: raw
    f.load_crc7();
    CHECK_FALSE(limited.rewrite(rec, out));  // reloaded less than an hour ago: stays raw
    REQUIRE(eager.rewrite(rec, out));
    CHECK(out == "at [<ffffffffc0232000>] crc7_be+0x0/0x40 [crc7]");
    CHECK(std::find(f.said.begin(), f.said.end(), "kernel symbols from " + f.kallsyms) !=
          f.said.end());
}

TEST_CASE("symbol_stage: -p reloads on Oops before expanding, userspace records untouched",
          "[klogd][symbols]") {
    stage_fixture f;
    auto stage = f.make(true, false, std::chrono::hours(1));
    f.load_crc7();
    std::string out;
    REQUIRE(stage.rewrite(stage_fixture::kernel("Oops: at [<ffffffffc0232000>]"), out));
    CHECK(out == "Oops: at [<ffffffffc0232000>] crc7_be+0x0/0x40 [crc7]");
    auto user = stage_fixture::kernel("app: [<fffffffface07e3d>]");
    user.facility = 1;
    CHECK_FALSE(stage.rewrite(user, out));
    CHECK(stage.rewrite(stage_fixture::kernel("[<fffffffface07e3d>]"), out));
    CHECK(out == "[<fffffffface07e3d>] _printk+0x0/0x83");
    CHECK_FALSE(stage.keep_original());
    CHECK(f.make(false, true, std::chrono::hours(1)).keep_original());
}
