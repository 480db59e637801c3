#include "klogd/symbol_stage.hpp"

#include <catch2/catch.hpp>
#include <algorithm>
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
    klogd::symbol_stage make(bool oops_reload, bool both) {
        klog::symbols::symbol_loader::config cfg;
        cfg.kallsyms = kallsyms;
        cfg.modules = modules;
        klogd::symbol_stage stage(cfg, oops_reload, both,
                                  [this](const std::string& l) { said.push_back(l); });
        stage.reload_all();
        return stage;
    }
    /// crc7 is loaded: it appears in both tables at once, as in the kernel.
    void load_crc7(const std::string& state = "Live") {
        klog_test::write_file(kallsyms, kallsyms_core + kallsyms_crc7);
        klog_test::write_file(modules, "crc7 16384 0 - " + state + " 0xffffffffc0232000\n");
    }
    static klog::record_view kernel(std::string_view text) {
        klog::record_view r;
        r.text = text;
        return r;
    }
};

}  // namespace

TEST_CASE("symbol_stage: an address in no known module reloads modules at once when "
          "/proc/modules changed",
          "[klogd][symbols]") {
    stage_fixture f;
    auto stage = f.make(false, false);
    std::string out;
    const auto rec = stage_fixture::kernel("at [<ffffffffc0232000>]");
    CHECK_FALSE(stage.rewrite(rec, out));  // not loaded yet: raw
    // A module whose init is running (no add uevent yet): listed as Loading. No time limit:
    // the very next record resolves.
    f.load_crc7("Loading");
    REQUIRE(stage.rewrite(rec, out));
    CHECK(out == "at [<ffffffffc0232000>] crc7_be+0x0/0x40 [crc7]");
    CHECK(std::find(f.said.begin(), f.said.end(), "kernel symbols from " + f.kallsyms) !=
          f.said.end());
}

TEST_CASE("symbol_stage: an unknown module address with /proc/modules unchanged does not "
          "re-read kallsyms",
          "[klogd][symbols]") {
    stage_fixture f;
    auto stage = f.make(false, false);
    std::string out;
    const auto rec = stage_fixture::kernel("at [<ffffffffc0232000>]");
    CHECK_FALSE(stage.rewrite(rec, out));
    // kallsyms changed, /proc/modules did not (no module was loaded): no reload, so the
    // (made-up) crc7 lines are not read, and the address stays raw.
    klog_test::write_file(f.kallsyms, kallsyms_core + kallsyms_crc7);
    CHECK_FALSE(stage.rewrite(rec, out));
    // Now /proc/modules lists it: reloaded.
    klog_test::write_file(f.modules, "crc7 16384 0 - Loading 0xffffffffc0232000\n");
    REQUIRE(stage.rewrite(rec, out));
    CHECK(out == "at [<ffffffffc0232000>] crc7_be+0x0/0x40 [crc7]");
}

TEST_CASE("symbol_stage: -p reloads on Oops before expanding, userspace records untouched",
          "[klogd][symbols]") {
    stage_fixture f;
    auto stage = f.make(true, false);
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
    CHECK(f.make(false, true).keep_original());
}
