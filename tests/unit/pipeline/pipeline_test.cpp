// The pipeline and the sink base: per-output sequence checks, loss notices, the level filter,
// rewriting, drop outputs, backpressure, and the watermark the cursor saves; the state file.
#include "klog/pipeline.hpp"

#include <catch2/catch.hpp>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "klog/cursor_file.hpp"
#include "klog/decoders/kmsg_decoder.hpp"
#include "klog/formatters/raw_formatter.hpp"
#include "test_support.hpp"

namespace {

using klog::sinks::record_meta;
using klog::sinks::when_full;

/// A sink that keeps what it is given (spdlog's test sink). Items stay "unsafe" until the test
/// calls `make_safe`; `capacity` makes it full.
class capture_sink final : public klog::sinks::sink {
  public:
    explicit capture_sink(when_full mode = when_full::block, std::string name = "capture")
        : sink(std::move(name), std::make_unique<klog::formatters::raw_formatter>(), mode) {}

    std::vector<std::string> lines;
    std::vector<record_meta> metas;
    std::deque<record_meta> unsafe_;
    std::size_t capacity = SIZE_MAX;
    int flushes = 0;

    /// The oldest `n` items become safe (written, acknowledged).
    void make_safe(std::size_t n) {
        for (; n > 0 && !unsafe_.empty(); --n) unsafe_.pop_front();
    }
    [[nodiscard]] std::size_t unsafe() const noexcept override { return unsafe_.size(); }
    [[nodiscard]] std::size_t queued() const noexcept override { return unsafe_.size(); }
    [[nodiscard]] bool full() const noexcept override { return unsafe_.size() >= capacity; }
    [[nodiscard]] bool idle() const noexcept override { return unsafe_.empty(); }
    void flush() override { ++flushes; }

  protected:
    void put(std::string_view bytes, const record_meta& meta) override {
        lines.emplace_back(bytes);
        metas.push_back(meta);
        unsafe_.push_back(meta);
    }
    [[nodiscard]] std::optional<record_meta> first_unsafe() const noexcept override {
        if (unsafe_.empty()) return std::nullopt;
        return unsafe_.front();
    }
};

struct fixture {
    std::vector<capture_sink*> sinks;
    std::unique_ptr<klog::pipeline> pipe;
    explicit fixture(std::vector<when_full> modes = {when_full::block}) {
        std::vector<std::unique_ptr<klog::sinks::sink>> outs;
        for (const auto mode : modes) {
            auto s = std::make_unique<capture_sink>(mode);
            sinks.push_back(s.get());
            outs.push_back(std::move(s));
        }
        pipe = std::make_unique<klog::pipeline>(std::move(outs));
    }
    capture_sink& sink(std::size_t i = 0) { return *sinks.at(i); }
    std::vector<std::string>& lines(std::size_t i = 0) { return sinks.at(i)->lines; }
    void feed(std::uint64_t seq, std::string_view text, std::uint8_t level = 6) {
        klog::record_view r;
        r.seq = seq;
        r.ts_usec = seq;
        r.level = level;
        r.text = text;
        pipe->on_record(r);
    }
};

class upper_rewriter final : public klog::record_rewriter {
  public:
    explicit upper_rewriter(bool both) : both_(both) {}
    bool rewrite(const klog::record_view& r, std::string& out) override {
        if (r.text.find("addr") == std::string_view::npos) return false;
        out = std::string(r.text) + " RESOLVED";
        return true;
    }
    [[nodiscard]] bool keep_original() const noexcept override { return both_; }

  private:
    bool both_;
};

}  // namespace

TEST_CASE("pipeline: a gap is one 'missed' record before the next one", "[pipeline]") {
    fixture f;
    f.feed(1, "a");
    f.feed(2, "b");
    f.feed(7, "c");
    f.feed(7, "c again");  // a duplicate is not delivered
    REQUIRE(f.lines().size() == 4);
    CHECK(f.lines()[2] == "<4,klogd>klogd: missed 4 kernel messages (seq 3..6)\n");
    CHECK(f.lines()[3] == "<6>[    0.000007] c\n");
    CHECK(f.pipe->counters().missed == 4);
    CHECK(f.pipe->counters().duplicates == 1);
    CHECK(f.pipe->counters().records == 3);
    // The notice and its record are one delivery position.
    CHECK(f.sink().metas[2].pos == f.sink().metas[3].pos);
    CHECK(f.sink().metas[2].before == 2U);
}

TEST_CASE("pipeline: --min-level filters kernel records but never klogd's notices", "[pipeline]") {
    fixture f;
    f.pipe->set_min_level(4);
    f.feed(1, "info", 6);
    f.feed(2, "warning", 4);
    f.feed(9, "err", 3);
    f.feed(12, "info after a gap", 6);
    REQUIRE(f.lines().size() == 4);
    CHECK(f.lines()[0] == "<4>[    0.000002] warning\n");
    CHECK(f.lines()[1] == "<4,klogd>klogd: missed 6 kernel messages (seq 3..8)\n");
    CHECK(f.lines()[3] == "<4,klogd>klogd: missed 2 kernel messages (seq 10..11)\n");
    CHECK(f.pipe->counters().filtered == 2);
    // The filtered record is passed: the cursor may go past it.
    f.sink().make_safe(10);
    CHECK(f.sink().durable_seq() == 12U);
}

TEST_CASE("pipeline: a rewriter replaces the text, with keep_original both go out", "[pipeline]") {
    fixture f;
    upper_rewriter only(false);
    f.pipe->set_rewriter(&only);
    f.feed(1, "plain");
    f.feed(2, "an addr here");
    CHECK(f.lines() == std::vector<std::string>{"<6>[    0.000001] plain\n",
                                                "<6>[    0.000002] an addr here RESOLVED\n"});
    fixture g;
    upper_rewriter both(true);
    g.pipe->set_rewriter(&both);
    g.feed(1, "an addr");
    CHECK(g.lines() == std::vector<std::string>{"<6>[    0.000001] an addr\n",
                                                "<6>[    0.000001] an addr RESOLVED\n"});
    CHECK(g.sink().metas[0].pos == g.sink().metas[1].pos);
}

TEST_CASE("pipeline: malformed records are delivered and counted", "[pipeline]") {
    fixture f;
    klog::record_view r;
    r.malformed = true;
    r.text = "not a record";
    f.pipe->on_record(r);
    CHECK(f.lines() == std::vector<std::string>{"<6>not a record\n"});
    CHECK(f.pipe->counters().malformed == 1);
}

TEST_CASE("pipeline: each output resumes after its own cursor and is told its own gap",
          "[pipeline][cursor]") {
    fixture f({when_full::block, when_full::block, when_full::block});
    f.pipe->resume(0, 10);
    f.pipe->resume(1, 4);
    // Output 2 is new: the whole ring.
    f.feed(3, "three");
    f.feed(8, "eight");
    f.feed(10, "ten");
    f.feed(11, "eleven");
    CHECK(f.lines(0) == std::vector<std::string>{"<6>[    0.000011] eleven\n"});
    CHECK(f.lines(1) == std::vector<std::string>{
                            "<4,klogd>klogd: missed 3 kernel messages (seq 5..7)\n",
                            "<6>[    0.000008] eight\n", "<4,klogd>klogd: missed 1 kernel messages (seq 9..9)\n",
                            "<6>[    0.000010] ten\n", "<6>[    0.000011] eleven\n"});
    CHECK(f.lines(2).size() == 6);  // 3, notice 4..7, 8, notice 9, 10, 11
    CHECK(f.pipe->counters().duplicates == 0);
    f.feed(11, "again");
    CHECK(f.pipe->counters().duplicates == 1);
}

TEST_CASE("sink watermark: what is not safe holds the cursor back, notices included",
          "[pipeline][cursor]") {
    fixture f;
    f.pipe->resume(0, 4);
    CHECK(f.sink().durable_seq() == 4U);
    f.feed(5, "five");
    f.feed(8, "eight");  // the notice for 6..7 and record 8: one position
    CHECK(f.sink().durable_seq() == 4U);
    f.sink().make_safe(1);  // "five"
    CHECK(f.sink().durable_seq() == 5U);
    f.sink().make_safe(1);  // the notice alone does not make 8 safe
    CHECK(f.sink().durable_seq() == 5U);
    f.sink().make_safe(1);
    CHECK(f.sink().durable_seq() == 8U);
    f.pipe->notice("klogd: something of its own");
    CHECK(f.sink().durable_seq() == 8U);  // a notice between records claims nothing new
    CHECK(f.sink().metas.back().before == 8U);
}

TEST_CASE("a full drop output drops, says each gap once, and holds nobody back", "[pipeline]") {
    fixture f({when_full::block, when_full::drop});
    f.sink(1).capacity = 2;
    for (std::uint64_t s = 1; s <= 6; ++s) f.feed(s, std::string("r") + std::to_string(s));
    CHECK_FALSE(f.pipe->blocked());
    CHECK(f.lines(1) == std::vector<std::string>{"<6>[    0.000001] r1\n", "<6>[    0.000002] r2\n"});
    CHECK(f.sink(1).counters().dropped == 4);
    f.sink(1).make_safe(2);
    f.feed(9, "r9");  // the kernel lost 7..8 too: one notice for the whole gap
    REQUIRE(f.lines(1).size() == 4);
    CHECK(f.lines(1)[2] == "<4,klogd>klogd: missed 6 kernel messages (seq 3..8)\n");
    CHECK(f.lines(1)[3] == "<6>[    0.000009] r9\n");
    CHECK(f.lines(0).size() == 8);  // 1..6, the kernel's notice, 9
}

TEST_CASE("a full block output blocks the pipeline until it has room", "[pipeline]") {
    fixture f({when_full::block, when_full::drop});
    f.sink(0).capacity = 3;
    f.feed(1, "a");
    f.feed(2, "b");
    CHECK_FALSE(f.pipe->blocked());
    f.feed(3, "c");
    CHECK(f.pipe->blocked());
    f.sink(0).make_safe(1);
    CHECK_FALSE(f.pipe->blocked());
}

TEST_CASE("cursor_file: per-output positions, escaping, old files, garbage, atomic replace",
          "[pipeline][cursor]") {
    klog_test::temp_dir dir;
    klog::cursor_file file(dir.file("sub/state"));
    std::string error;
    CHECK_FALSE(file.load(error));
    CHECK(error.empty());  // no file yet is not an error
    klog::cursor c;
    c.boot_id = "boot-a";
    c.seq = 40;
    c.outputs.push_back(
        {"file:/var/log/kern.log", 42, klog::sinks::file_position{2049, 77, 1234}, {}, {}});
    c.outputs.push_back({"tcp://[::1]:514", 40, std::nullopt, 38, "/var/lib/klogd/spool/t"});
    c.outputs.push_back({"file:/odd\nname\\x", std::nullopt, std::nullopt, {}, {}});
    file.save(c);
    CHECK(klog_test::read_file(dir.file("sub/state")) ==
          "boot_id=boot-a\nseq=40\n"
          "output=file:/var/log/kern.log\noutput.seq=42\noutput.file=2049:77:1234\n"
          "output=tcp://[::1]:514\noutput.seq=40\noutput.acked=38\n"
          "output.spool=/var/lib/klogd/spool/t\n"
          "output=file:/odd\\x0aname\\x5cx\noutput.seq=none\n");
    const auto back = file.load(error);
    REQUIRE(back);
    CHECK(*back == c);
    CHECK(back->find("tcp://[::1]:514")->seq == 40U);
    CHECK(back->find("nope") == nullptr);

    c.seq = UINT64_MAX;
    file.save(c, true);
    CHECK(file.load(error)->seq == UINT64_MAX);

    // A state file of an earlier klogd: one cursor, no outputs.
    klog_test::write_file(dir.file("old"), "boot_id=x\nseq=17\n");
    const auto old = klog::cursor_file(dir.file("old")).load(error);
    REQUIRE(old);
    CHECK(old->seq == 17U);
    CHECK(old->outputs.empty());

    for (const std::string bad :
         {"", "boot_id=x\n", "seq=1\n", "boot_id=x\nseq=-1\n", "boot_id=x\nseq=12abc\n",
          "\x01\x02", "boot_id=x\nseq=1\noutput.seq=3\n", "boot_id=x\nseq=1\noutput=a\\x4\n",
          "boot_id=x\nseq=1\noutput=a\noutput.file=1:2\n"}) {
        INFO(bad);
        klog_test::write_file(dir.file("bad"), bad);
        klog::cursor_file b(dir.file("bad"));
        CHECK_FALSE(b.load(error));
        CHECK(error.find("not a klogd state file") != std::string::npos);
    }
    CHECK_FALSE(klog::cursor_file::current_boot_id().empty());
}

TEST_CASE("pipeline: a leap of 2^64-1 in the numbers is said, delivered, and mutes nothing",
          "[pipeline][hostile]") {
    fixture f;
    f.feed(1, "a");
    f.feed(UINT64_MAX, "bogus");
    f.feed(2, "real record 2");
    REQUIRE(f.lines().size() == 4);
    CHECK(f.lines()[1].find("klogd: kernel sequence number jumped from 1 to "
                            "18446744073709551615") != std::string::npos);
    CHECK(f.lines()[2] == "<6>[18446744073709.551615] bogus\n");
    CHECK(f.lines()[3] == "<6>[    0.000002] real record 2\n");
    CHECK(f.pipe->counters().missed == 0);
    f.sink().make_safe(10);
    CHECK(f.sink().durable_seq() == 2U);  // the cursor never takes the bogus number
}

TEST_CASE("pipeline: numbers going back start a new numbering, said once, nothing dropped",
          "[pipeline][hostile]") {
    fixture f;
    f.feed(10, "ten");
    f.feed(3, "three");
    f.feed(4, "four");
    f.feed(4, "four again");  // an immediate repeat of a number is skipped
    REQUIRE(f.lines().size() == 4);
    CHECK(f.lines()[1].find("went back from 10 to 3") != std::string::npos);
    CHECK(f.lines()[2] == "<6>[    0.000003] three\n");
    CHECK(f.lines()[3] == "<6>[    0.000004] four\n");
    CHECK(f.pipe->counters().duplicates == 1);
    // A new reading of the source (TSTP/CONT, a restart) may start over: that is no renumbering.
    f.pipe->new_session();
    f.feed(3, "three, read again");
    f.feed(5, "five");
    CHECK(f.lines().size() == 5);
    CHECK(f.lines().back() == "<6>[    0.000005] five\n");
}

TEST_CASE("pipeline: a record with an unreadable header belongs with the one before it",
          "[pipeline][hostile]") {
    fixture f;
    std::string scratch;
    const auto feed_raw = [&](const std::string& bytes) {
        f.pipe->on_record(klog::decoders::parse_kmsg_record(bytes, scratch));
    };
    feed_raw("6,1,0,-;one\n");
    feed_raw("6,+2,0,-;unreadable\n");  // really record 2
    feed_raw("6,3,0,-;three\n");
    REQUIRE(f.lines().size() == 3);
    CHECK(f.lines()[1] == "<6>6,+2,0,-;unreadable\n");  // no empty line after it
    CHECK(f.pipe->counters().missed == 0);               // and 2 is not reported missing
    CHECK(f.sink().metas[1].pos == f.sink().metas[0].pos);
    // Read again after a restart with a cursor at 1: it is skipped with record 1.
    fixture g;
    g.pipe->resume(0, 1);
    f.pipe->new_session();
    const auto feed_g = [&](const std::string& bytes) {
        g.pipe->on_record(klog::decoders::parse_kmsg_record(bytes, scratch));
    };
    feed_g("6,1,0,-;one\n");
    feed_g("6,+2,0,-;unreadable\n");
    feed_g("6,3,0,-;three\n");
    CHECK(g.lines() == std::vector<std::string>{"<6>[    0.000000] three\n"});
}

TEST_CASE("pipeline: outputs whose cursor is past the newest record read are found",
          "[pipeline][hostile]") {
    fixture f({when_full::block, when_full::block});
    f.pipe->resume(0, 1000000);
    f.pipe->resume(1, 3);
    CHECK(f.pipe->ahead_of_kernel().empty());  // nothing read yet: nothing to compare
    for (std::uint64_t s = 1; s <= 5; ++s) f.feed(s, "r");
    CHECK(f.pipe->ahead_of_kernel() == std::vector<std::size_t>{0});
    CHECK(f.lines(0).empty());
    CHECK(f.lines(1).size() == 2);
}
