// The file output writing in the background (`-o`): blocks go to a second thread while the next
// records are formatted. What must hold: the file is byte for byte what writing on one thread
// makes, a record counts as written (and the durable position moves) only once the thread's
// write returned for it, and a block the device refuses in part comes back whole, in order,
// before the records taken meanwhile.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include "klog/formatters/raw_formatter.hpp"
#include "klog/os/faults.hpp"
#include "klog/sinks/file_sink.hpp"
#include "test_support.hpp"

using namespace klog::sinks;
using klog::os::call;

namespace {

using klog_test::text_record;

record_meta meta_for(std::uint64_t seq) {
    record_meta m;
    m.pos = seq + 1;
    m.seq = seq;
    if (seq > 0) m.before = seq - 1;
    return m;
}

/// The raw line the formatter makes for `seq` (ts_usec = seq).
std::string line_for(std::uint64_t seq, std::string_view text, int level = 6) {
    char prefix[48];
    std::snprintf(prefix, sizeof prefix, "<%d>[%5llu.%06llu] ", level,
                  static_cast<unsigned long long>(seq / 1000000),
                  static_cast<unsigned long long>(seq % 1000000));
    return prefix + std::string(text) + "\n";
}

file_sink::settings background(std::size_t block) {
    file_sink::settings s;
    s.background_block = block;
    s.max_pending = 1 << 30;
    return s;
}

/// The records written so far are exactly the file up to the durable position, and no record
/// is counted that is not there.
void check_accounting(const file_sink& f, const std::string& path, const std::string& want,
                      const std::vector<std::size_t>& line_ends, std::uint64_t taken) {
    const auto written = f.counters().written;
    REQUIRE(written + f.unsafe() == taken);
    const auto pos = f.durable_file_position();
    REQUIRE(pos);
    const std::size_t expected = written == 0 ? 0 : line_ends[written - 1];
    CHECK(pos->offset == expected);
    const auto text = klog_test::read_file(path);
    REQUIRE(text.size() >= pos->offset);
    CHECK(text.compare(0, pos->offset, want, 0, pos->offset) == 0);
}

}  // namespace

TEST_CASE("file_sink in the background: the same file as on one thread, records counted only "
          "once written",
          "[sinks][file][background]") {
    klog_test::temp_dir dir;
    const auto path = dir.file("kern.log");
    std::minstd_rand rng(GENERATE(1U, 2U, 3U));
    constexpr std::uint64_t records = 20000;
    std::string want;
    std::vector<std::size_t> line_ends;
    {
        file_sink f(path, std::make_unique<klog::formatters::raw_formatter>(), background(4096));
        for (std::uint64_t s = 0; s < records; ++s) {
            const std::string text = "record " + std::to_string(s) + " " + std::string(rng() % 300, 'x');
            f.take(text_record(s, text), {}, meta_for(s));
            want += line_for(s, text);
            line_ends.push_back(want.size());
            if (rng() % 50 == 0) f.flush();  // the end of a batch: never waits for the thread
            if (rng() % 500 == 0) check_accounting(f, path, want, line_ends, s + 1);
        }
        f.finish();  // from here on written here: nothing waits afterwards
        CHECK(f.unsafe() == 0);
        CHECK(f.idle());
        CHECK(f.counters().written == records);
        CHECK(f.durable_file_position()->offset == want.size());
        CHECK_FALSE(f.last_error());
    }
    CHECK(klog_test::read_file(path) == want);
}

TEST_CASE("file_sink in the background: a block the device refuses in part comes back whole and "
          "in order before the records taken meanwhile",
          "[sinks][file][background][faults]") {
    klog_test::temp_dir dir;
    const auto path = dir.file("kern.log");
    const unsigned seed = GENERATE(1U, 2U, 3U, 4U, 5U, 6U);
    std::minstd_rand rng(seed);
    constexpr std::uint64_t records = 6000;
    std::string want;
    std::vector<std::size_t> line_ends;
    bool saw_error = false;
    {
        file_sink f(path, std::make_unique<klog::formatters::raw_formatter>(), background(2000));
        std::uint64_t next = 0;
        while (next < records) {
            std::vector<klog::os::fault> faults;
            switch (rng() % 5) {
                case 0:
                    faults.push_back(klog::os::fail(call::write, EINTR).repeat(static_cast<unsigned>(1 + rng() % 3)));
                    break;
                case 1:
                    faults.push_back(klog::os::shorten(call::write, 1 + rng() % 700).always());
                    break;
                case 2:
                    // Full after a few writes: a block in the thread fails in part, and the
                    // records taken meanwhile wait behind it.
                    faults.push_back(klog::os::shorten(call::write, 1 + rng() % 900)
                                         .repeat(static_cast<unsigned>(1 + rng() % 2)));
                    faults.push_back(
                        klog::os::fail(call::write, ENOSPC)
                                             .after(static_cast<unsigned>(rng() % 3))
                                             .always());
                    break;
                case 3:
                    // A short write, one refused, the next ones go through (space freed at
                    // once): the queue is not clean, and is written here until it is.
                    faults.push_back(klog::os::shorten(call::write, 1 + rng() % 900));
                    faults.push_back(klog::os::fail(call::write, ENOSPC).after(1));
                    break;
                default:
                    break;
            }
            {
                const klog::os::scoped_faults injected(faults);
                for (int n = 0; n < 200 && next < records; ++n, ++next) {
                    const std::string text = "record " + std::to_string(next) + " " +
                                             std::string(rng() % 120, 'y');
                    f.take(text_record(next, text), {}, meta_for(next));
                    want += line_for(next, text);
                    line_ends.push_back(want.size());
                    if (rng() % 40 == 0) f.flush();
                }
                f.sync();  // takes the thread's result while the faults still hold
                if (f.last_error()) {
                    saw_error = true;
                    CHECK(f.last_error() == std::errc::no_space_on_device);
                    CHECK(f.unsafe() > 0);  // held, not dropped
                }
                check_accounting(f, path, want, line_ends, next);
            }
            {
                // Some room: part of what was held is written, ending inside a record.
                const klog::os::scoped_faults some_room(
                    {klog::os::shorten(call::write, 1 + rng() % 3000),
                     klog::os::fail(call::write, ENOSPC).after(1).always()});
                f.flush();
                check_accounting(f, path, want, line_ends, next);
            }
            f.flush();  // room again: what was held is written here, first
            check_accounting(f, path, want, line_ends, next);
        }
        f.finish();
        CHECK(f.unsafe() == 0);
        CHECK(f.counters().written == records);
        CHECK_FALSE(f.last_error());
    }
    CHECK(saw_error);
    CHECK(klog_test::read_file(path) == want);
}

TEST_CASE("file_sink in the background: a crit record, sync, reopen and the end take the "
          "thread's block first",
          "[sinks][file][background]") {
    klog_test::temp_dir dir;
    const auto path = dir.file("kern.log");
    const std::string text(100, 'z');
    std::string want;
    std::uint64_t seq = 0;
    const auto feed = [&](file_sink& f, int n) {
        for (int i = 0; i < n; ++i, ++seq) {
            f.take(text_record(seq, text), {}, meta_for(seq));
            want += line_for(seq, text);
        }
    };
    {
        const klog::os::scoped_faults counted({});
        file_sink f(path, std::make_unique<klog::formatters::raw_formatter>(), background(1000));
        feed(f, 50);  // several blocks handed over, the last still small
        CHECK(f.unsafe() > 0);
        // A crit record: everything before it and itself written and fsync'ed at once.
        auto crit = meta_for(seq);
        crit.level = 2;
        f.take(text_record(seq, "panic", 2), {}, crit);
        want += line_for(seq, "panic", 2);
        ++seq;
        CHECK(f.unsafe() == 0);
        CHECK(counted.calls(call::fsync) == 1);
        CHECK(klog_test::read_file(path) == want);

        feed(f, 50);
        f.sync();
        CHECK(f.unsafe() <= 9);  // only what is short of a block: never handed over yet
        CHECK(counted.calls(call::fsync) == 2);

        // logrotate: the old file gets everything taken before the reopen.
        feed(f, 30);
        std::filesystem::rename(path, path + ".1");
        f.reopen();
        CHECK(f.unsafe() == 0);
        CHECK(klog_test::read_file(path + ".1") == want);
        want.clear();
        feed(f, 40);
    }
    // The destructor writes the block in the thread and the rest.
    CHECK(klog_test::read_file(path) == want);
}

TEST_CASE("file_sink in the background: a block as large as the output holds is written here",
          "[sinks][file][background]") {
    // Such a block would keep the output full until finish(): the sink writes on one thread.
    klog_test::temp_dir dir;
    const auto path = dir.file("kern.log");
    file_sink::settings s;
    s.background_block = 1000;
    s.max_pending = 1000;
    file_sink f(path, std::make_unique<klog::formatters::raw_formatter>(), s);
    const std::string text(100, 'w');
    std::string want;
    for (std::uint64_t seq = 0; seq < 25; ++seq) {
        f.take(text_record(seq, text), {}, meta_for(seq));
        want += line_for(seq, text);
    }
    f.flush();
    CHECK_FALSE(f.full());
    CHECK(f.unsafe() == 0);
    CHECK(klog_test::read_file(path) == want);
}
