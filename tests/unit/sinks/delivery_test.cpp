// The delivery pieces under the sinks: the file output's positions and exactly-once cut, and
// the stream outputs' queue (memory and spool) with its send/acknowledge/rewind bookkeeping.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <new>
#include <string>

#include "klog/formatters/raw_formatter.hpp"
#include "klog/os/faults.hpp"
#include "klog/sinks/delivery_queue.hpp"
#include "klog/sinks/file_sink.hpp"
#include "test_support.hpp"

using namespace klog::sinks;

namespace {

using klog_test::text_record;

record_meta meta_for(std::uint64_t pos, std::optional<std::uint64_t> seq) {
    record_meta m;
    m.pos = pos;
    m.seq = seq;
    m.before = seq && *seq > 0 ? std::optional<std::uint64_t>(*seq - 1) : std::nullopt;
    return m;
}

std::uint64_t file_size(const std::string& path) { return std::filesystem::file_size(path); }

}  // namespace

TEST_CASE("file_sink: the durable position is where the safe records end", "[sinks][file]") {
    klog_test::temp_dir dir;
    const auto path = dir.file("kern.log");
    klog_test::write_file(path, "older content\n");
    file_sink f(path, std::make_unique<klog::formatters::raw_formatter>());
    const klog::formatters::record_time t{};
    const auto start = f.durable_file_position();
    REQUIRE(start);
    CHECK(start->offset == 14);
    f.take(text_record(1, "one"), t, meta_for(1, 1));
    f.take(text_record(2, "two"), t, meta_for(2, 2));
    CHECK(f.unsafe() == 2);
    CHECK(f.durable_seq() == 0U);  // nothing written yet: only what came before 1
    CHECK(f.durable_file_position()->offset == 14);
    f.flush();
    CHECK(f.unsafe() == 0);
    CHECK(f.durable_seq() == 2U);
    CHECK(f.durable_file_position()->offset == file_size(path));
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK(f.durable_file_position()->inode == st.st_ino);
    CHECK(f.counters().written == 2);
}

TEST_CASE("file_sink: a record whose formatting fails leaves nothing of itself in the file",
          "[sinks][file]") {
    // The formatter writes straight into the file output's buffer: bytes of a record it could
    // not finish must not stay there in front of the next record.
    struct failing_formatter final : klog::formatters::formatter {
        void format(const klog::record_view& r, const klog::formatters::record_time&,
                    std::string& out) const override {
            out += "half of ";
            if (r.text == "bad") throw std::bad_alloc();
            out.append(r.text);
            out += '\n';
        }
    };
    klog_test::temp_dir dir;
    const auto path = dir.file("kern.log");
    file_sink f(path, std::make_unique<failing_formatter>());
    const klog::formatters::record_time t{};
    f.take(text_record(1, "one"), t, meta_for(1, 1));
    CHECK_THROWS_AS(f.take(text_record(2, "bad"), t, meta_for(2, 2)), std::bad_alloc);
    f.take(text_record(3, "three"), t, meta_for(3, 3));
    f.flush();
    CHECK(klog_test::read_file(path) == "half of one\nhalf of three\n");
    CHECK(f.counters().written == 2);
}

TEST_CASE("file_sink: truncate_to cuts only its own file, only what lies beyond", "[sinks][file]") {
    klog_test::temp_dir dir;
    const auto path = dir.file("kern.log");
    klog_test::write_file(path, "line 1\nline 2\nline 3 written after the cursor was saved\n");
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    const auto dev = static_cast<std::uint64_t>(st.st_dev);
    const auto ino = static_cast<std::uint64_t>(st.st_ino);
    {
        file_sink other(path, std::make_unique<klog::formatters::raw_formatter>());
        CHECK(other.truncate_to({dev, ino + 1, 14}) == 0);  // a rotated file: never touched
        CHECK(other.truncate_to({dev, ino, 1000}) == 0);    // shorter (copytruncate): nothing
    }
    CHECK(file_size(path) == 56);
    file_sink f(path, std::make_unique<klog::formatters::raw_formatter>());
    CHECK(f.truncate_to({dev, ino, 14}) == 42);
    CHECK(klog_test::read_file(path) == "line 1\nline 2\n");
    f.take(text_record(3, "three"), {}, meta_for(1, 3));
    f.flush();
    CHECK(klog_test::read_file(path) == "line 1\nline 2\n<6>[    0.000003] three\n");
    CHECK(f.truncate_to({dev, ino, 7}) == 0);  // never after it wrote
}

// A file that ends inside a line (an earlier -o or klogd without a state file killed while
// writing, another program): klogd's first record was glued onto that line's end.
TEST_CASE(
    "file_sink: a file that ends inside a line has that line ended and said before the "
    "first record",
    "[sinks][file]") {
    klog_test::temp_dir dir;
    const auto path = dir.file("kern.log");
    klog_test::write_file(path, "older\n<6>[    0.000001] torn rec");
    const std::string notice =
        "<4,klogd>klogd: " + path +
        ": it ended inside a line (byte 32) that an earlier writer did not finish: klogd ended "
        "that line there, before its own records\n";
    {
        file_sink f(path, std::make_unique<klog::formatters::raw_formatter>());
        CHECK(klog_test::read_file(path) == "older\n<6>[    0.000001] torn rec");  // untouched
        f.flush();  // nothing to write: nothing written
        CHECK(file_size(path) == 32);
        f.take(text_record(2, "two"), {}, meta_for(2, 2));
        f.take(text_record(3, "three"), {}, meta_for(3, 3));
        CHECK(f.durable_seq() == 1U);
        f.flush();
        CHECK(klog_test::read_file(path) == "older\n<6>[    0.000001] torn rec\n" + notice +
                                                "<6>[    0.000002] two\n<6>[    0.000003] three\n");
        CHECK(f.durable_file_position()->offset == file_size(path));
        CHECK(f.durable_seq() == 3U);
    }
    // Whole lines: nothing added, nothing said.
    const auto before = klog_test::read_file(path);
    {
        file_sink f(path, std::make_unique<klog::formatters::raw_formatter>());
        f.take(text_record(4, "four"), {}, meta_for(4, 4));
        f.flush();
    }
    CHECK(klog_test::read_file(path) == before + "<6>[    0.000004] four\n");
}

TEST_CASE(
    "file_sink: a torn line the saved cursor cuts off is not ended, and until the newline and "
    "its notice are written whole the durable position stays where the line was cut",
    "[sinks][file][faults]") {
    klog_test::temp_dir dir;
    const auto path = dir.file("kern.log");
    klog_test::write_file(path, "line 1\nline 2\n<6>[    0.000003] tor");
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    {
        file_sink f(path, std::make_unique<klog::formatters::raw_formatter>());
        CHECK(f.truncate_to({static_cast<std::uint64_t>(st.st_dev),
                             static_cast<std::uint64_t>(st.st_ino), 14}) == 21);
        f.take(text_record(3, "three"), {}, meta_for(3, 3));
        f.flush();
    }
    CHECK(klog_test::read_file(path) == "line 1\nline 2\n<6>[    0.000003] three\n");

    // A full disk: nothing at all, then the newline and part of the notice (a kill now leaves
    // the saved position at byte 11, where the next start finds the line torn again).
    klog_test::write_file(path, "a torn line");
    file_sink f(path, std::make_unique<klog::formatters::raw_formatter>());
    f.take(text_record(1, "one"), {}, meta_for(1, 1));
    {
        const klog::os::scoped_faults disk_full({klog::os::fail(klog::os::call::write, ENOSPC)});
        f.flush();
        CHECK(f.last_error() == std::errc::no_space_on_device);
        CHECK(klog_test::read_file(path) == "a torn line");
        CHECK(f.unsafe() == 2);  // the notice and the record
    }
    {
        const klog::os::scoped_faults room_for_some(
            {klog::os::shorten(klog::os::call::write, 20),
             klog::os::fail(klog::os::call::write, ENOSPC).after(1)});
        f.flush();
        CHECK(file_size(path) == 31);
        CHECK(klog_test::read_file(path).starts_with("a torn line\n<4,klogd>klogd: "));
        CHECK(f.durable_file_position()->offset == 11);
        CHECK(f.durable_seq() == 0U);
        CHECK(f.unsafe() == 2);
    }
    f.flush();
    const auto text = klog_test::read_file(path);
    CHECK(text.find("it ended inside a line (byte 11)") != std::string::npos);
    CHECK(text.ends_with("line there, before its own records\n<6>[    0.000001] one\n"));
    CHECK(f.durable_seq() == 1U);
    CHECK(f.durable_file_position()->offset == file_size(path));
}

// A daemon's chdir("/") after opening a relative -f; a cut (logrotate's create) made later.
TEST_CASE("file_sink: the torn line is found through the open file, not its name",
          "[sinks][file]") {
    klog_test::temp_dir dir;
    const auto path = dir.file("kern.log");
    klog_test::write_file(path, "old\npart");
    file_sink f(path, std::make_unique<klog::formatters::raw_formatter>());
    REQUIRE(::rename(path.c_str(), (path + ".1").c_str()) == 0);
    klog_test::write_file(path, "someone else's file\n");
    f.take(text_record(1, "one"), {}, meta_for(1, 1));
    f.flush();
    CHECK(klog_test::read_file(path + ".1").starts_with("old\npart\n<4,klogd>klogd: "));
    CHECK(klog_test::read_file(path) == "someone else's file\n");
}

TEST_CASE("file_sink: on a failing device records wait, nothing is torn, the output fills up",
          "[sinks][file]") {
    file_sink::settings s;
    s.write_threshold = 64;
    s.max_pending = 256;
    file_sink f("/dev/full", std::make_unique<klog::formatters::raw_formatter>(), s);
    int taken = 0;
    while (!f.full() && taken < 1000) {
        f.take(text_record(static_cast<std::uint64_t>(taken), "a record that waits"), {},
               meta_for(static_cast<std::uint64_t>(taken), static_cast<std::uint64_t>(taken)));
        ++taken;
    }
    CHECK(f.full());
    CHECK(taken < 20);
    f.flush();
    CHECK(f.last_error() == std::errc::no_space_on_device);
    CHECK(f.unsafe() == static_cast<std::size_t>(taken));
    CHECK_FALSE(f.broken());
    CHECK_FALSE(f.durable_seq());  // seq 0 is the first record there is: nothing before it
}

TEST_CASE("file_sink: after a burst the device starts writing back, a non-file is not asked again",
          "[sinks][file]") {
    using klog::os::call;
    file_sink::settings s;
    s.write_threshold = 1000;
    s.writeback_after = 10000;
    const std::string text(200, 'x');
    const auto feed = [&](file_sink& f, int records) {
        for (int i = 0; i < records; ++i) {
            const auto seq = static_cast<std::uint64_t>(i);
            f.take(text_record(seq, text), {}, meta_for(seq + 1, seq));
        }
        f.flush();
    };
    klog_test::temp_dir dir;
    {
        // About 22 KB written: write-back started twice (every 10,000 bytes), and it never
        // stands for the fsync: sync() still syncs, and starts the count again.
        const klog::os::scoped_faults counted({});
        file_sink f(dir.file("kern.log"), std::make_unique<klog::formatters::raw_formatter>(), s);
        feed(f, 100);
        CHECK(counted.calls(call::writeback) == 2);
        CHECK(counted.calls(call::fsync) == 0);
        f.sync();
        CHECK(counted.calls(call::fsync) == 1);
        feed(f, 40);  // 8.8 KB since the fsync: not yet
        CHECK(counted.calls(call::writeback) == 2);
    }
    {
        // /dev/null is no file: the first refusal is the last call.
        const klog::os::scoped_faults counted({});
        file_sink f("/dev/null", std::make_unique<klog::formatters::raw_formatter>(), s);
        feed(f, 300);
        CHECK(counted.calls(call::writeback) == 1);
        CHECK(f.counters().written == 300);
        CHECK_FALSE(f.last_error());
    }
    {
        // A failing write-back (as on a device that refuses it) changes nothing of the delivery.
        const klog::os::scoped_faults failing({klog::os::fail(call::writeback, EIO).repeat(0)});
        file_sink f(dir.file("other.log"), std::make_unique<klog::formatters::raw_formatter>(), s);
        feed(f, 100);
        CHECK(f.counters().written == 100);
        CHECK(f.unsafe() == 0);
        CHECK_FALSE(f.last_error());
        CHECK(std::filesystem::file_size(dir.file("other.log")) > 20000);
    }
}

TEST_CASE(
    "file_sink: thousands of records written in part by a failing device stay whole and "
    "in order",
    "[sinks][file]") {
    // Short writes, then a full disk after about two thirds: the records written so far leave
    // the queue (which compacts itself once most of it is gone), the rest wait, and the next
    // flush writes them after the others.
    using klog::os::call;
    file_sink::settings s;
    s.write_threshold = 1 << 30;  // nothing written before the flush
    s.max_pending = 1 << 30;
    klog_test::temp_dir dir;
    const auto path = dir.file("kern.log");
    file_sink f(path, std::make_unique<klog::formatters::raw_formatter>(), s);
    constexpr int records = 12000;
    std::string want;
    for (int i = 0; i < records; ++i) {
        const auto seq = static_cast<std::uint64_t>(i);
        const std::string text = "record " + std::to_string(i);
        f.take(text_record(seq, text), {}, meta_for(seq + 1, seq));
        char prefix[32];
        std::snprintf(prefix, sizeof prefix, "<6>[    0.%06d] ", i);  // ts_usec = seq
        want += prefix + text + "\n";
    }
    std::size_t left = 0;
    {
        const klog::os::scoped_faults failing({klog::os::fail(call::write, ENOSPC).after(200),
                                               klog::os::shorten(call::write, 1000).always()});
        f.flush();
        left = f.unsafe();
    }
    CHECK(f.last_error() == std::errc::no_space_on_device);
    CHECK(left > 0);
    CHECK(left < records / 2);  // more than half written: the queue has compacted itself
    CHECK(f.counters().written == static_cast<std::uint64_t>(records) - left);
    f.flush();
    CHECK_FALSE(f.last_error());
    CHECK(f.unsafe() == 0);
    CHECK(f.counters().written == static_cast<std::uint64_t>(records));
    CHECK(klog_test::read_file(path) == want);
    CHECK(f.durable_file_position()->offset == want.size());
}

TEST_CASE("delivery_queue in memory: safe only when acknowledged, rewind after a loss",
          "[sinks][queue]") {
    delivery_queue::limits l;
    l.max_records = 5;
    l.resend_bytes = 6;  // keeps the last two acknowledged 3-byte records
    delivery_queue q(l);
    for (std::uint64_t i = 1; i <= 4; ++i) q.push("r0" + std::to_string(i), meta_for(i, i));
    CHECK_FALSE(q.full());
    q.push("r05", meta_for(5, 5));
    CHECK(q.full());
    CHECK(q.first_unsafe()->seq == 1U);
    REQUIRE(q.ready() == 5);
    q.mark_sent(3, 300);  // r01..r03 end at byte 300
    CHECK(q.ready() == 2);
    CHECK(q.unacknowledged() == 3);
    CHECK(q.acknowledge(299) == 0);
    CHECK(q.acknowledge(300) == 3);
    CHECK(q.first_unsafe()->seq == 4U);
    CHECK_FALSE(q.full());
    q.mark_sent(2, 500);
    // An orderly close: only what was not acknowledged goes again.
    CHECK(q.rewind(false) == 2);
    REQUIRE(q.ready() == 2);
    CHECK(q.unsent(0).bytes == "r04");
    // A reset: the acknowledged records still in the resend window go again too.
    CHECK(q.rewind(true) == 2);
    REQUIRE(q.ready() == 4);
    CHECK(q.unsent(0).bytes == "r02");
    CHECK(q.first_unsafe()->seq == 4U);  // r02, r03 stay safe
    q.mark_sent(4, 100);
    CHECK(q.acknowledge(100) == 4);
    CHECK_FALSE(q.first_unsafe());
    CHECK(q.idle());
    CHECK(q.unsafe() == 0);
}

TEST_CASE("delivery_queue with a spool: safe once written, released once acknowledged",
          "[sinks][queue][spool]") {
    klog_test::temp_dir dir;
    const auto path = dir.file("spool");
    {
        delivery_queue q({}, std::make_unique<spool>(path, 1 << 20));
        for (std::uint64_t i = 1; i <= 6; ++i)
            q.push(std::string("s") + std::to_string(i), meta_for(i, i));
        CHECK(q.first_unsafe()->seq == 1U);
        CHECK(q.unsafe() == 6);
        CHECK(q.ready() == 0);  // nothing on disk yet
        CHECK(q.write_spool() == 6);
        CHECK_FALSE(q.first_unsafe());
        REQUIRE(q.ready() == 6);
        q.mark_sent(6, 60);
        CHECK(q.acknowledge(30) == 0);  // tokens are per batch here
        CHECK(q.acknowledge(60) == 6);
        CHECK(q.idle());
        for (std::uint64_t i = 7; i <= 9; ++i)
            q.push(std::string("s") + std::to_string(i), meta_for(i, i));
        q.write_spool();
        REQUIRE(q.ready() == 3);
        q.mark_sent(2, 80);  // s7, s8 sent; killed before any acknowledgement
        q.disk()->sync();
    }
    // The next run sends what the collector did not acknowledge, in order.
    delivery_queue q({}, std::make_unique<spool>(path, 1 << 20));
    REQUIRE(q.ready() == 3);
    CHECK(q.unsent(0).bytes == "s7");
    CHECK(q.unsent(2).bytes == "s9");
    CHECK(q.unsent(2).meta.seq == 9U);
    CHECK_FALSE(q.idle());
    q.mark_sent(3, 10);
    q.acknowledge(10);
    CHECK(q.idle());
}
