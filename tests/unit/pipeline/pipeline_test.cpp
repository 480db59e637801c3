#include "klog/pipeline.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "klog/cursor_file.hpp"
#include "klog/formatters/raw_formatter.hpp"
#include "klog/sequence_tracker.hpp"
#include "test_support.hpp"

namespace {

/// A sink that keeps what it is given (spdlog's test sink), optionally failing.
class capture_sink final : public klog::sinks::sink {
  public:
    explicit capture_sink(std::vector<std::string>& lines) : lines_(lines) {}
    [[nodiscard]] const std::string& name() const noexcept override { return name_; }
    void write(std::string_view bytes, const klog::record_view&) override {
        if (fail) throw std::runtime_error("capture_sink: told to fail");
        lines_.emplace_back(bytes);
    }
    void flush() override { ++flushes; }
    bool fail = false;
    int flushes = 0;

  private:
    std::string name_ = "capture";
    std::vector<std::string>& lines_;
};

struct fixture {
    std::vector<std::string> lines;
    capture_sink* sink = nullptr;
    std::unique_ptr<klog::pipeline> pipe;
    fixture() {
        std::vector<klog::output> outs;
        auto s = std::make_unique<capture_sink>(lines);
        sink = s.get();
        outs.push_back({std::make_unique<klog::formatters::raw_formatter>(), std::move(s)});
        pipe = std::make_unique<klog::pipeline>(std::move(outs));
    }
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

TEST_CASE("sequence_tracker: gaps, duplicates, cursor", "[pipeline]") {
    klog::sequence_tracker t;
    CHECK_FALSE(t.observe(5).missed);
    CHECK_FALSE(t.observe(6).missed);
    const auto gap = t.observe(10).missed;
    REQUIRE(gap);
    CHECK(gap->first == 7);
    CHECK(gap->last == 9);
    CHECK(gap->count() == 3);
    CHECK(t.observe(10).duplicate);
    CHECK(t.observe(3).duplicate);
    CHECK(t.last() == 10U);
    klog::sequence_tracker resumed(49);
    CHECK(resumed.observe(49).duplicate);
    CHECK(resumed.observe(60).missed->first == 50);
    klog::sequence_tracker top(UINT64_MAX - 1);
    CHECK_FALSE(top.observe(UINT64_MAX).missed);
}

TEST_CASE("pipeline: a gap is one 'missed' record before the next one", "[pipeline]") {
    fixture f;
    f.feed(1, "a");
    f.feed(2, "b");
    f.feed(7, "c");
    f.feed(7, "c again");  // a duplicate is not delivered
    REQUIRE(f.lines.size() == 4);
    CHECK(f.lines[2] == "<4,klogd>klogd: missed 4 kernel messages (seq 3..6)\n");
    CHECK(f.lines[3] == "<6>[    0.000007] c\n");
    CHECK(f.pipe->counters().missed == 4);
    CHECK(f.pipe->counters().duplicates == 1);
    CHECK(f.pipe->counters().records == 3);
}

TEST_CASE("pipeline: --min-level filters kernel records but never klogd's notices", "[pipeline]") {
    fixture f;
    f.pipe->set_min_level(4);
    f.feed(1, "info", 6);
    f.feed(2, "warning", 4);
    f.feed(9, "err", 3);
    REQUIRE(f.lines.size() == 3);
    CHECK(f.lines[0] == "<4>[    0.000002] warning\n");
    CHECK(f.lines[1] == "<4,klogd>klogd: missed 6 kernel messages (seq 3..8)\n");
    CHECK(f.pipe->counters().filtered == 1);
}

TEST_CASE("pipeline: a rewriter replaces the text; with keep_original both go out", "[pipeline]") {
    fixture f;
    upper_rewriter only(false);
    f.pipe->set_rewriter(&only);
    f.feed(1, "plain");
    f.feed(2, "an addr here");
    CHECK(f.lines == std::vector<std::string>{"<6>[    0.000001] plain\n",
                                              "<6>[    0.000002] an addr here RESOLVED\n"});
    fixture g;
    upper_rewriter both(true);
    g.pipe->set_rewriter(&both);
    g.feed(1, "an addr");
    CHECK(g.lines == std::vector<std::string>{"<6>[    0.000001] an addr\n",
                                              "<6>[    0.000001] an addr RESOLVED\n"});
}

TEST_CASE("pipeline: malformed records are delivered and counted", "[pipeline]") {
    fixture f;
    klog::record_view r;
    r.malformed = true;
    r.text = "not a record";
    f.pipe->on_record(r);
    CHECK(f.lines == std::vector<std::string>{"<6>not a record\n"});
    CHECK(f.pipe->counters().malformed == 1);
}

TEST_CASE("cursor_file: save, load, garbage, atomic replacement", "[pipeline][cursor]") {
    klog_test::temp_dir dir;
    klog::cursor_file file(dir.file("sub/state"));
    std::string error;
    CHECK_FALSE(file.load(error));
    CHECK(error.empty());  // no file yet is not an error
    file.save({"boot-a", 42});
    const auto c = file.load(error);
    REQUIRE(c);
    CHECK(c->boot_id == "boot-a");
    CHECK(c->seq == 42U);
    file.save({"boot-a", UINT64_MAX});
    CHECK(file.load(error)->seq == UINT64_MAX);
    CHECK(klog_test::read_file(dir.file("sub/state")) ==
          "boot_id=boot-a\nseq=18446744073709551615\n");
    for (const std::string bad : {"", "boot_id=x\n", "seq=1\n", "boot_id=x\nseq=-1\n",
                                  "boot_id=x\nseq=12abc\n", "\x01\x02"}) {
        klog_test::write_file(dir.file("bad"), bad);
        klog::cursor_file b(dir.file("bad"));
        CHECK_FALSE(b.load(error));
        CHECK(error.find("not a klogd state file") != std::string::npos);
    }
    CHECK_FALSE(klog::cursor_file::current_boot_id().empty());
}
