#include "klogd/symbol_stage.hpp"

#include <catch2/catch.hpp>
#include <algorithm>
#include <memory>
#include <thread>
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
    /// Not loaded yet.
    std::unique_ptr<klogd::symbol_stage> unloaded(bool oops_reload = false, bool both = false) {
        klog::symbols::symbol_loader::config cfg;
        cfg.kallsyms = kallsyms;
        cfg.modules = modules;
        return std::make_unique<klogd::symbol_stage>(
            cfg, oops_reload, both, [this](const std::string& l) { said.push_back(l); });
    }
    std::unique_ptr<klogd::symbol_stage> make(bool oops_reload, bool both) {
        auto stage = unloaded(oops_reload, both);
        stage->load_all();
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
    CHECK_FALSE(stage->rewrite(rec, out));  // not loaded yet: raw
    // A module whose init is running (no add uevent yet): listed as Loading. No time limit:
    // the very next record resolves.
    f.load_crc7("Loading");
    REQUIRE(stage->rewrite(rec, out));
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
    CHECK_FALSE(stage->rewrite(rec, out));
    // kallsyms changed, /proc/modules did not (no module was loaded): no reload, so the
    // (made-up) crc7 lines are not read, and the address stays raw.
    klog_test::write_file(f.kallsyms, kallsyms_core + kallsyms_crc7);
    CHECK_FALSE(stage->rewrite(rec, out));
    // Now /proc/modules lists it: reloaded.
    klog_test::write_file(f.modules, "crc7 16384 0 - Loading 0xffffffffc0232000\n");
    REQUIRE(stage->rewrite(rec, out));
    CHECK(out == "at [<ffffffffc0232000>] crc7_be+0x0/0x40 [crc7]");
}

TEST_CASE("symbol_stage: -p reloads on Oops before expanding, userspace records untouched",
          "[klogd][symbols]") {
    stage_fixture f;
    auto stage = f.make(true, false);
    f.load_crc7();
    std::string out;
    REQUIRE(stage->rewrite(stage_fixture::kernel("Oops: at [<ffffffffc0232000>]"), out));
    CHECK(out == "Oops: at [<ffffffffc0232000>] crc7_be+0x0/0x40 [crc7]");
    auto user = stage_fixture::kernel("app: [<fffffffface07e3d>]");
    user.facility = 1;
    CHECK_FALSE(stage->rewrite(user, out));
    CHECK(stage->rewrite(stage_fixture::kernel("[<fffffffface07e3d>]"), out));
    CHECK(out == "[<fffffffface07e3d>] _printk+0x0/0x83");
    CHECK_FALSE(stage->keep_original());
    CHECK(f.make(false, true)->keep_original());
}

// -o: the tables load on a thread of their own while records without an address go through.
TEST_CASE("symbol_stage: loading in the background, a record with an address waits for the "
          "tables and what the load said comes on the caller's thread",
          "[klogd][symbols]") {
    stage_fixture f;
    const auto caller = std::this_thread::get_id();
    std::vector<std::thread::id> said_on;
    klog::symbols::symbol_loader::config cfg;
    cfg.kallsyms = f.kallsyms;
    cfg.modules = f.modules;
    klogd::symbol_stage stage(cfg, false, false, [&](const std::string& l) {
        f.said.push_back(l);
        said_on.push_back(std::this_thread::get_id());
    });
    stage.load_in_background();
    std::string out;
    // No address form: nothing to expand, whether the load is done or not.
    CHECK_FALSE(stage.rewrite(stage_fixture::kernel("eth0: link up, no address here"), out));
    // One: expanded with the loaded tables, never raw for want of them.
    REQUIRE(stage.rewrite(stage_fixture::kernel("at [<fffffffface07e3d>]"), out));
    CHECK(out == "at [<fffffffface07e3d>] _printk+0x0/0x83");
    REQUIRE(std::find(f.said.begin(), f.said.end(), "kernel symbols from " + f.kallsyms) !=
            f.said.end());
    CHECK(std::all_of(said_on.begin(), said_on.end(), [&](auto id) { return id == caller; }));
    const auto said = f.said.size();
    stage.wait_loaded();  // nothing left: said once
    CHECK(f.said.size() == said);

    // wait_loaded() alone says it too (a log without addresses), and a stage destroyed while
    // loading waits for its thread.
    f.said.clear();
    klogd::symbol_stage quiet(cfg, false, false, [&](const std::string& l) { f.said.push_back(l); });
    quiet.load_in_background();
    CHECK_FALSE(quiet.rewrite(stage_fixture::kernel("nothing to see"), out));
    quiet.wait_loaded();
    CHECK(std::find(f.said.begin(), f.said.end(), "kernel symbols from " + f.kallsyms) !=
          f.said.end());
    klogd::symbol_stage dropped(cfg, false, false, nullptr);
    dropped.load_in_background();
}
