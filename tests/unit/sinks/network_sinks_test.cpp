// Pieces of the network outputs: framing, endpoints, backoff, loss notices and the disk spool
// (format, order, cap, damaged files).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "klog/sinks/backoff.hpp"
#include "klog/sinks/framing.hpp"
#include "klog/sinks/loss_gap.hpp"
#include "klog/sinks/network_endpoint.hpp"
#include "klog/sinks/spool.hpp"
#include "test_support.hpp"

using namespace klog::sinks;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> segment_files(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() == ".spool") out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

/// Reads everything the spool holds and acknowledges it.
std::vector<spool::stored> drain(spool& s, std::uint64_t* damaged = nullptr) {
    std::vector<spool::stored> all;
    for (int round = 0; round < 1000 && s.unread(); ++round) {
        std::vector<spool::damage> d;
        auto got = s.read(7, 1 << 20, d);
        for (const auto& x : d) {
            if (damaged != nullptr) *damaged += x.bytes;
        }
        if (!got.empty()) s.release(got.back().at);
        for (auto& r : got) all.push_back(std::move(r));
    }
    return all;
}

}  // namespace

TEST_CASE("octet counting frames a record as LEN SP MSG, bytes untouched", "[sinks]") {
    std::string out;
    CHECK(append_frame(framing::octet_counting, "<6>1 - - kernel - - - a\nb", out) == 28);
    CHECK(out == "25 <6>1 - - kernel - - - a\nb");
    append_frame(framing::octet_counting, "", out);
    CHECK(out.ends_with("a\nb0 "));
}

TEST_CASE("LF framing ends each record with one LF and neutralises LFs inside it", "[sinks]") {
    std::string out;
    CHECK(append_frame(framing::lf, "one\ntwo\n", out) == 15);
    CHECK(out == "one\\x0atwo\\x0a\n");
    out.clear();
    append_frame(framing::lf, "plain", out);
    CHECK(out == "plain\n");
    CHECK(parse_framing("octet") == framing::octet_counting);
    CHECK(parse_framing("lf") == framing::lf);
    CHECK_FALSE(parse_framing("LF"));
}

TEST_CASE("network endpoints: names, IPv4, bracketed IPv6, default and explicit ports", "[sinks]") {
    CHECK(network_endpoint::parse("logs.example.org", 514)->to_string() == "logs.example.org:514");
    CHECK(network_endpoint::parse("127.0.0.1:5514", 514)->port == 5514);
    const auto v6 = network_endpoint::parse("[::1]:6514", 514);
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->to_string() == "[::1]:6514");
    CHECK(network_endpoint::parse("[fe80::1]", 6514)->port == 6514);
    for (const char* bad : {"", ":514", "host:", "host:0", "host:65536", "host:x", "::1", "[::1",
                            "[::1]x", "[127.0.0.1]:5", "host:514/x", "a b"}) {
        INFO(bad);
        CHECK_FALSE(network_endpoint::parse(bad, 514));
    }
}

TEST_CASE("backoff doubles up to its maximum with jitter in [d/2, d], and resets", "[sinks]") {
    backoff b(100ms, 1000ms, 42);
    std::chrono::milliseconds step = 100ms;
    for (int i = 0; i < 10; ++i) {
        const auto d = b.next();
        CHECK(d >= step / 2);
        CHECK(d <= step);
        step = std::min(step * 2, std::chrono::milliseconds(1000));
    }
    CHECK(b.step() == 1000ms);
    b.reset();
    CHECK(b.next() <= 100ms);
    // Two klogds with other seeds do not retry in lockstep.
    backoff x(1000ms, 1000ms, 1);
    backoff y(1000ms, 1000ms, 2);
    int same = 0;
    for (int i = 0; i < 20; ++i) same += x.next() == y.next() ? 1 : 0;
    CHECK(same < 20);
}

TEST_CASE("loss_gap says exactly what the pipeline says for a ring gap", "[sinks]") {
    loss_gap g;
    CHECK_FALSE(g.pending());
    CHECK(g.notice().empty());
    for (std::uint64_t s = 95; s <= 1000; ++s) g.add(s);
    CHECK(g.notice() == "klogd: missed 906 kernel messages (seq 95..1000)");
    g.clear();
    g.add(std::nullopt);
    g.add(std::nullopt);
    CHECK(g.notice() == "klogd: missed 2 kernel messages");
    g.clear();
    g.add_range(10, 19);
    g.add(20);
    CHECK(g.notice() == "klogd: missed 11 kernel messages (seq 10..20)");
    g.clear();
    g.add_range(0, UINT64_MAX);  // a bogus jump: the count saturates, never wraps to 0
    CHECK(g.count() == UINT64_MAX);
}

TEST_CASE("spool: records come back in order across segments and restarts, and go once acked",
          "[sinks][spool]") {
    klog_test::temp_dir dir;
    const auto path = dir.file("out");
    {
        spool s(path, 1 << 20, 256);  // tiny segments: many files
        for (int i = 1; i <= 50; ++i) s.append("record " + std::to_string(i), std::uint64_t(i));
        CHECK(s.unwritten() == 50);
        CHECK(s.write() == 50);
        CHECK(s.unwritten() == 0);
        s.append("no seq", std::nullopt);
        CHECK(s.write() == 1);
        CHECK(s.segments() >= 1);
    }
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    spool again(path, 1 << 20, 256);  // an earlier run's spool
    CHECK_FALSE(again.empty());
    CHECK(again.unread());
    again.append("record 52", std::uint64_t(52));  // never into an old segment
    REQUIRE(again.write() == 1);
    std::uint64_t damaged = 0;
    const auto all = drain(again, &damaged);
    CHECK(damaged == 0);
    REQUIRE(all.size() == 52);
    for (int i = 1; i <= 50; ++i) {
        CHECK(all[static_cast<std::size_t>(i - 1)].bytes == "record " + std::to_string(i));
        CHECK(all[static_cast<std::size_t>(i - 1)].seq == std::uint64_t(i));
    }
    CHECK_FALSE(all[50].seq);
    CHECK(all[51].bytes == "record 52");
    CHECK(again.empty());
}

TEST_CASE("spool: what was acknowledged is not sent again after a restart", "[sinks][spool]") {
    klog_test::temp_dir dir;
    const auto path = dir.file("out");
    {
        spool s(path, 1 << 20);
        for (int i = 1; i <= 10; ++i) s.append(std::string("r").append(std::to_string(i)), std::uint64_t(i));
        REQUIRE(s.write() == 10);
        std::vector<spool::damage> d;
        const auto got = s.read(4, 1 << 20, d);
        REQUIRE(got.size() == 4);
        s.release(got.back().at);  // 1..4 delivered
        s.sync();                  // the fsync timer: how far is saved
    }
    spool again(path, 1 << 20);
    const auto rest = drain(again);
    REQUIRE(rest.size() == 6);
    CHECK(rest.front().bytes == "r5");
    CHECK(again.empty());
}

TEST_CASE("spool: full at its cap, counting what is not written yet", "[sinks][spool]") {
    klog_test::temp_dir dir;
    spool s(dir.file("out"), 4096);
    int kept = 0;
    while (!s.full()) {
        s.append(std::string(100, 'x'), std::uint64_t(kept));
        ++kept;
    }
    CHECK(s.bytes() >= 4096);
    CHECK(s.write() == static_cast<std::size_t>(kept));
    CHECK(s.full());
    const auto all = drain(s);
    CHECK(all.size() == static_cast<std::size_t>(kept));
    CHECK_FALSE(s.full());
}

TEST_CASE("a damaged spool segment gives the records before the damage and the bytes lost",
          "[sinks][spool]") {
    std::string seg(spool::magic);
    for (int i = 0; i < 3; ++i) spool::encode("rec" + std::to_string(i), std::uint64_t(i), seg);
    const auto whole = spool::decode(seg);
    REQUIRE(whole.records.size() == 3);
    CHECK(whole.damaged_bytes == 0);
    CHECK(whole.torn_bytes == 0);

    SECTION("torn tail: a write that never finished, not damage") {
        const auto r = spool::decode(std::string_view(seg).substr(0, seg.size() - 2));
        CHECK(r.records.size() == 2);
        CHECK(r.damaged_bytes == 0);
        CHECK(r.torn_bytes == spool::header_size + 4 - 2);
    }
    SECTION("flipped payload byte: CRC") {
        auto bad = seg;
        bad[8 + spool::header_size + 1] ^= 0x20;
        const auto r = spool::decode(bad);
        CHECK(r.records.empty());
        CHECK(r.damaged_bytes == seg.size() - 8);
    }
    SECTION("huge length") {
        auto bad = seg;
        bad[8 + spool::header_size + 4 + 3] = '\x7f';
        const auto r = spool::decode(bad);
        CHECK(r.records.size() == 1);
        CHECK(r.damaged_bytes > 0);
    }
    SECTION("bad magic, empty file, garbage") {
        CHECK(spool::decode("KLOGSPL9").damaged_bytes == 8);
        CHECK(spool::decode("").records.empty());
        std::string garbage(1000, '\xff');
        CHECK(spool::decode(garbage).damaged_bytes == 1000);
    }
    SECTION("in the directory: a torn tail is skipped quietly, damage is reported and read past") {
        klog_test::temp_dir dir;
        const auto path = dir.file("out");
        {
            spool s(path, 1 << 20);
            for (int i = 0; i < 10; ++i) s.append(std::string("r").append(std::to_string(i)), std::uint64_t(i));
            REQUIRE(s.write() == 10);
        }
        auto files = segment_files(path);
        REQUIRE(files.size() == 1);
        std::filesystem::resize_file(files[0], std::filesystem::file_size(files[0]) - 5);
        {
            spool s(path, 1 << 20);
            std::uint64_t damaged = 0;
            const auto all = drain(s, &damaged);
            CHECK(all.size() == 9);
            CHECK(damaged == 0);
            CHECK(s.empty());
        }
        CHECK(segment_files(path).empty());
        {
            spool s(path, 1 << 20);
            for (int i = 0; i < 10; ++i) s.append(std::string("r").append(std::to_string(i)), std::uint64_t(i));
            REQUIRE(s.write() == 10);
        }
        files = segment_files(path);
        REQUIRE(files.size() == 1);
        auto bytes = klog_test::read_file(files[0]);
        bytes[8 + 4 * (spool::header_size + 2) + spool::header_size] ^= 1;  // record 5's payload
        klog_test::write_file(files[0], bytes);
        spool s(path, 1 << 20);
        std::uint64_t damaged = 0;
        const auto all = drain(s, &damaged);
        // Only the damaged record is lost (and said): reading goes on after it.
        CHECK(all.size() == 9);
        CHECK(damaged == spool::header_size + 2);
        CHECK(all[4].bytes == "r5");
        CHECK(s.empty());
    }
}

TEST_CASE("two spools cannot share a directory", "[sinks][spool]") {
    klog_test::temp_dir dir;
    spool first(dir.file("out"), 1 << 20);
    CHECK_THROWS_AS(spool(dir.file("out"), 1 << 20), std::system_error);
}
