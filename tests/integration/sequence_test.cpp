// Issue 12 with the real binary: sequence numbers that cannot be (a leap to 2^64-1, numbers
// going back, a saved cursor from the future, headers that do not parse) are said once and
// their records delivered once — never a reason to go silent or to repeat.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "daemon_harness.hpp"
#include "klog/cursor_file.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using klog_test::background_klogd;
using klog_test::eventually;

namespace {

std::string replay(const std::string& records) {
    klog_test::temp_dir dir;
    klog_test::write_file(dir.file("in.txt"), records);
    const auto r = klog_test::run_klogd(
        {"-o", "-x", "--source=" + dir.file("in.txt"), "-f", "-", "--format=raw"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    return r.out;
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

struct daemon_fixture {
    klog_test::temp_dir dir;
    klog_test::kmsg_ring ring{dir.file("kmsg.sock"), 100000};
    std::string file = dir.file("kern.log");
    std::string state = dir.file("state");
    std::string err = dir.file("stderr.log");
    [[nodiscard]] std::vector<std::string> args() const {
        return {"-n",
                "-d",
                "-x",
                "--format=raw",
                "--source=kmsg:" + ring.path(),
                "--pidfile=" + dir.file("pid"),
                "--state-file=" + state,
                "-f",
                file};
    }
    std::string contents() const { return klog_test::read_if_any(file); }
};

}  // namespace

TEST_CASE("a record numbered 2^64-1 among 1 and 2 is said, delivered, and mutes nothing",
          "[integration][hostile][sequence]") {
    const auto out = replay("6,1,0,-;a\n6,18446744073709551615,0,-;bogus\n6,2,0,-;real record 2\n");
    INFO(out);
    CHECK(count(out, "] a\n") == 1);
    CHECK(count(out, "] bogus\n") == 1);
    CHECK(count(out, "] real record 2\n") == 1);
    CHECK(count(out, "klogd: kernel sequence number jumped from 1 to 18446744073709551615") == 1);
    CHECK(out.find("missed") == std::string::npos);
}

TEST_CASE("numbers going back (10, then 3, 4) are said once and 3 and 4 delivered",
          "[integration][hostile][sequence]") {
    const auto out = replay("6,10,0,-;ten\n6,3,0,-;three\n6,4,0,-;four\n");
    INFO(out);
    CHECK(count(out, "] three\n") == 1);
    CHECK(count(out, "] four\n") == 1);
    CHECK(count(out, "went back from 10 to 3") == 1);
}

TEST_CASE("malformed headers: one line each, their neighbours not missed",
          "[integration][hostile][sequence]") {
    const auto out = replay(
        "6,1,0,-;one\n6,2;missing fields\n2048,3,0,-;pri 2048\n-6,4,0,-;negative\n"
        "6,+5,0,-;plus\n6,18446744073709551616,0,-;two to the 64\n6,7,0,-;seven\n");
    INFO(out);
    CHECK(count(out, "\n") == 7);  // one line per record, no empty line after any
    CHECK(out.find("\n\n") == std::string::npos);
    CHECK(out.find("missed") == std::string::npos);
    CHECK(count(out, "] seven\n") == 1);
}

TEST_CASE("the daemon: a bogus 2^64-1 never becomes the cursor, malformed records are not "
          "delivered again after a restart",
          "[integration][hostile][sequence]") {
    daemon_fixture f;
    f.ring.add("6,1,1,-;one\n");
    f.ring.add("6,18446744073709551615,2,-;bogus\n");
    f.ring.add("6,2,3,-;two\n");
    f.ring.add("2048,3,4,-;pri 2048\n");
    f.ring.add("6,+4,5,-;plus\n");
    f.ring.add("6,5,6,-;five\n");
    {
        background_klogd klogd(f.args(), f.err);
        REQUIRE(eventually([&] { return f.contents().find("] five\n") != std::string::npos; }));
        REQUIRE(eventually(
            [&] { return klog_test::read_if_any(f.state).find("output.seq=5") != std::string::npos; }));
        CHECK(klog_test::read_if_any(f.state).find("18446744073709551615") == std::string::npos);
        klogd.signal(SIGKILL);
        klogd.wait_exit(5s);
    }
    f.ring.add("6,6,7,-;six\n");
    background_klogd klogd(f.args(), f.err);
    CHECK(eventually([&] { return f.contents().find("] six\n") != std::string::npos; }));
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    const auto out = f.contents();
    INFO(out << klog_test::read_file(f.err));
    for (const char* line : {"] one\n", "] bogus\n", "] two\n", "pri 2048\n", "plus\n", "] five\n",
                             "] six\n"}) {
        CHECK(count(out, line) == 1);
    }
    CHECK(out.find("missed") == std::string::npos);
}

TEST_CASE("a saved cursor from the future (same boot) is said, and the ring delivered",
          "[integration][hostile][sequence]") {
    daemon_fixture f;
    klog::cursor future;
    future.boot_id = klog::cursor_file::current_boot_id();
    future.seq = 1000000;
    future.outputs.push_back({"file:" + f.file, 1000000, std::nullopt, {}, {}});
    klog::cursor_file(f.state).save(future);
    for (int s = 1; s <= 50; ++s) {
        f.ring.add("6," + std::to_string(s) + ",0,-;record " + std::to_string(s) + "\n");
    }
    background_klogd klogd(f.args(), f.err);
    CHECK(eventually([&] { return f.contents().find("] record 50\n") != std::string::npos; }));
    f.ring.add("6,51,0,-;record 51\n");
    CHECK(eventually([&] { return f.contents().find("] record 51\n") != std::string::npos; }));
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    const auto out = f.contents();
    INFO(out);
    CHECK(count(out, "the saved cursor (seq 1000000) is past the newest kernel record") == 1);
    for (int s = 1; s <= 51; ++s) CHECK(count(out, "] record " + std::to_string(s) + "\n") == 1);
}

TEST_CASE("a replayed log never carries this machine's boot id", "[integration][hostile]") {
    klog_test::temp_dir dir;
    klog_test::write_file(dir.file("saved.txt"), "6,41,1000,-;from another machine\n");
    const auto boot = klog::cursor_file::current_boot_id();
    REQUIRE(!boot.empty());
    for (const char* format : {"rfc5424", "json"}) {
        const auto r = klog_test::run_klogd({"-o", "-x", "--source=" + dir.file("saved.txt"),
                                             "-f", "-", std::string("--format=") + format});
        INFO(format << ": " << r.out << r.err);
        CHECK(r.exit_code == 0);
        CHECK(r.out.find("from another machine") != std::string::npos);
        CHECK(r.out.find(boot) == std::string::npos);
    }
    // The live kernel log does carry it.
    const auto live = klog_test::run_klogd({"-o", "-x", "-f", "-", "--format=json"});
    CHECK(live.out.find(boot) != std::string::npos);
}
