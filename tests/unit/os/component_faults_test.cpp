// Faults injected through the OS seam into the parts that write to disk: the file output, the
// spool, the cursor, the incident directory and the pstore archive. What each must do: lose
// nothing, write nothing twice, tear no record, and say what failed with the verb and path.
#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <sstream>

#include "klog/cursor_file.hpp"
#include "klog/formatters/raw_formatter.hpp"
#include "klog/incidents/incident_directory.hpp"
#include "klog/os/faults.hpp"
#include "klog/os/os.hpp"
#include "klog/sinks/file_sink.hpp"
#include "klog/sinks/spool.hpp"
#include "klog/sources/pstore_reader.hpp"
#include "test_support.hpp"

namespace os = klog::os;
using os::call;

namespace {

using klog_test::text_record;

klog::sinks::record_meta meta_for(std::uint64_t seq) {
    klog::sinks::record_meta m;
    m.pos = seq;
    m.seq = seq;
    m.before = seq - 1;
    return m;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
}

}  // namespace

TEST_CASE("faults: the file output under interrupted, short and failed writes writes each "
          "record once and whole",
          "[os][faults][sinks]") {
    klog_test::temp_dir dir;
    const auto path = dir.file("kern.log");
    std::minstd_rand rng(GENERATE(1U, 2U, 3U, 4U, 5U));
    constexpr std::uint64_t records = 3000;
    std::vector<std::string> texts;
    for (std::uint64_t i = 1; i <= records; ++i) {
        texts.push_back("record " + std::to_string(i) + " " + std::string(rng() % 200, 'x'));
    }
    {
        // Small writes so that many write(2) calls are made.
        klog::sinks::file_sink f(path, std::make_unique<klog::formatters::raw_formatter>(),
                                 {.write_threshold = 512, .max_pending = 1 << 30});
        const klog::formatters::record_time t{};
        std::uint64_t next = 1;
        bool saw_error = false;
        for (int round = 0; next <= records; ++round) {
            std::vector<os::fault> faults;
            switch (rng() % 4) {
            case 0: faults.push_back(os::fail(call::write, EINTR).repeat(static_cast<unsigned>(1 + rng() % 5))); break;
            case 1: faults.push_back(os::shorten(call::write, 1 + rng() % 100).always()); break;
            case 2: faults.push_back(os::fail(call::write, ENOSPC).after(static_cast<unsigned>(rng() % 3)).always()); break;
            default: break;
            }
            {
                const os::scoped_faults injected(faults);
                for (int n = 0; n < 50 && next <= records; ++n, ++next) {
                    f.take(text_record(next, texts[next - 1]), t, meta_for(next));
                }
                f.flush();
                if (f.last_error()) {
                    saw_error = true;
                    CHECK(f.last_error() == std::errc::no_space_on_device);
                    CHECK(f.unsafe() > 0);  // held, not dropped
                }
            }
            // The disk has room again: the daemon's retry writes what was held.
            f.flush();
            CHECK_FALSE(f.last_error());
            CHECK(f.unsafe() == 0);
            CHECK(f.durable_file_position()->offset == std::filesystem::file_size(path));
        }
        CHECK(saw_error);
    }
    const auto lines = lines_of(klog_test::read_file(path));
    REQUIRE(lines.size() == records);
    for (std::uint64_t i = 0; i < records; ++i) REQUIRE(lines[i].ends_with("] " + texts[i]));
}

TEST_CASE("faults: the spool under short and failed writes and short reads gives every record "
          "back once in order",
          "[os][faults][sinks]") {
    klog_test::temp_dir dir;
    std::minstd_rand rng(GENERATE(7U, 8U, 9U));
    constexpr std::uint64_t records = 2000;
    std::vector<std::uint64_t> got;
    {
        klog::sinks::spool s(dir.file("spool"), 64 << 20, 16 * 1024);
        std::vector<klog::sinks::spool::damage> damaged;
        std::uint64_t next = 1;
        while (next <= records || !s.empty()) {
            std::vector<os::fault> faults;
            switch (rng() % 5) {
            case 0: faults.push_back(os::shorten(call::write, 1 + rng() % 40).always()); break;
            case 1: faults.push_back(os::fail(call::write, ENOSPC).after(static_cast<unsigned>(rng() % 2)).always()); break;
            case 2: faults.push_back(os::fail(call::open, EMFILE).on(".spool")); break;
            case 3: faults.push_back(os::shorten(call::pread, 1 + rng() % 300).always()); break;
            default: faults.push_back(os::fail(call::write, EINTR).repeat(3)); break;
            }
            const os::scoped_faults injected(faults);
            for (int n = 0; n < 30 && next <= records; ++n, ++next) {
                s.append("payload " + std::to_string(next), next);
            }
            s.write();
            for (const auto& r : s.read(25, 1 << 20, damaged)) {
                got.push_back(*r.seq);
                CHECK(r.bytes == "payload " + std::to_string(*r.seq));
                s.release(r.at);
            }
            for (const auto& d : damaged) {
                FAIL_CHECK("damage reported: " << d.file << " " << d.bytes << " bytes, fault "
                                               << static_cast<int>(faults[0].what) << " errno "
                                               << faults[0].error << " short "
                                               << faults[0].short_bytes);
            }
            damaged.clear();
            if (got.size() > records) break;  // something came twice: stop, the checks say it
        }
    }
    REQUIRE(got.size() == records);
    for (std::uint64_t i = 0; i < records; ++i) REQUIRE(got[i] == i + 1);
}

TEST_CASE("faults: an acknowledgement that cannot be saved sends records again and loses none",
          "[os][faults][sinks]") {
    klog_test::temp_dir dir;
    const auto where = dir.file("spool");
    {
        klog::sinks::spool s(where, 1 << 20);
        for (std::uint64_t i = 1; i <= 10; ++i) s.append("r" + std::to_string(i), i);
        s.write();
        std::vector<klog::sinks::spool::damage> damaged;
        auto first = s.read(4, 1 << 20, damaged);
        REQUIRE(first.size() == 4);
        s.release(first.back().at);
        s.save_acked(true);  // 1..4 acknowledged, on disk
        auto second = s.read(4, 1 << 20, damaged);
        REQUIRE(second.size() == 4);
        s.release(second.back().at);
        const os::scoped_faults injected({os::fail(call::rename, EIO).on("/acked").always()});
        s.save_acked(true);  // 5..8: cannot be saved
        CHECK(injected.fired() == 1);
        // Killed here (the destructor would save again): the spool is left as it is.
        std::vector<std::string> held;
        for (const auto& e : std::filesystem::directory_iterator(where)) {
            held.push_back(e.path().filename().string());
        }
        std::filesystem::copy(where, dir.file("after-kill"));
    }
    klog::sinks::spool again(dir.file("after-kill"), 1 << 20);
    std::vector<klog::sinks::spool::damage> damaged;
    std::vector<std::uint64_t> seqs;
    for (const auto& r : again.read(100, 1 << 20, damaged)) seqs.push_back(*r.seq);
    CHECK(seqs == std::vector<std::uint64_t>{5, 6, 7, 8, 9, 10});
}

TEST_CASE("faults: a cursor that cannot be saved keeps the one saved before and says why",
          "[os][faults]") {
    klog_test::temp_dir dir;
    const auto path = dir.file("state");
    klog::cursor_file file(path);
    klog::cursor c;
    c.boot_id = "b";
    c.seq = 10;
    file.save(c, true);
    for (const auto& f : {os::fail(call::write, ENOSPC), os::fail(call::fsync, EIO),
                          os::fail(call::rename, EROFS), os::shorten(call::write, 3)}) {
        c.seq = *c.seq + 1;
        std::vector<os::fault> faults{f};
        if (f.error == 0) faults.push_back(os::fail(call::write, ENOSPC).after(1));
        const os::scoped_faults injected(faults);
        CHECK_THROWS_WITH(file.save(c, true),
                          Catch::Matchers::StartsWith("cannot write " + path + ": "));
        std::string error;
        const auto back = file.load(error);
        REQUIRE(back);
        CHECK(back->seq == 10U);
        CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
    }
    c.seq = 20;
    file.save(c, true);
    std::string error;
    CHECK(file.load(error)->seq == 20U);
}

TEST_CASE("faults: an incident report that cannot be written leaves no file behind and says "
          "which",
          "[os][faults][incidents]") {
    klog_test::temp_dir dir;
    klog::incidents::incident i;
    i.kind = klog::incidents::incident_kind::oops;
    i.title = "BUG: something";
    klog::incidents::incident_directory incidents(dir.path());
    for (const auto& f : {os::fail(call::write, ENOSPC), os::fail(call::fsync, EIO),
                          os::fail(call::link, EMLINK)}) {
        const os::scoped_faults injected({f});
        CHECK_THROWS_WITH(incidents.write(i, "boot", 1000000),
                          Catch::Matchers::StartsWith("cannot ") &&
                              Catch::Matchers::Contains(dir.path()));
        CHECK(std::filesystem::is_empty(dir.path()));
    }
    const os::scoped_faults interrupted({os::fail(call::write, EINTR).repeat(2),
                                         os::shorten(call::write, 10).after(2)});
    const auto written = incidents.write(i, "boot", 1000000);
    CHECK(klog_test::read_file(written).find("BUG: something") != std::string::npos);
    CHECK(klog_test::read_file(written).ends_with("}\n"));
}

TEST_CASE("faults: a pstore dump that cannot be archived stays where it is",
          "[os][faults][sources]") {
    klog_test::temp_dir dir;
    std::filesystem::create_directories(dir.file("pstore"));
    const auto dump_path = dir.file("pstore/dmesg-ramoops-0");
    klog_test::write_file(dump_path, "Panic#1 Part1\n<0>Kernel panic - not syncing: test\n");
    klog::sources::pstore_reader reader(dir.file("pstore"), dir.file("archive"));
    std::vector<std::string> notes;
    std::vector<std::string> info;
    const auto dumps = reader.scan(notes, info);
    REQUIRE(dumps.size() == 1);
    for (const auto& f : {os::fail(call::write, ENOSPC), os::fail(call::fsync, EIO),
                          os::fail(call::rename, EROFS)}) {
        const os::scoped_faults injected({f});
        const auto why = reader.archive(dumps[0]);
        CHECK(why.starts_with("cannot write " + dir.file("archive/")));
        CHECK(std::filesystem::exists(dump_path));
    }
    {
        const os::scoped_faults injected({os::fail(call::unlink, EPERM).on("pstore/dmesg-ramoops-0")});
        const auto why = reader.archive(dumps[0]);
        CHECK(why.find("cannot remove " + dump_path) != std::string::npos);
    }
    CHECK(reader.archive(dumps[0]).empty());
    CHECK_FALSE(std::filesystem::exists(dump_path));
}
