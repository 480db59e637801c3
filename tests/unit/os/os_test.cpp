// The OS seam: EINTR retried once, short writes continued, atomic replacement that never
// leaves a torn or half-replaced file, errors that name the verb and the path — with the
// faults injected through the seam itself.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "klog/os/faults.hpp"
#include "klog/os/os.hpp"
#include "test_support.hpp"

namespace os = klog::os;
using os::call;

TEST_CASE("os: an interrupted call is made again and nothing is lost", "[os]") {
    klog_test::temp_dir dir;
    const auto path = dir.file("f");
    const os::scoped_faults faults({os::fail(call::write, EINTR).repeat(3),
                                    os::fail(call::fsync, EINTR),
                                    os::fail(call::read, EINTR).repeat(2)});
    {
        auto fd = os::open(path, O_WRONLY | O_CREAT, 0600);
        std::error_code ec;
        CHECK(os::write_all(fd.get(), "hello\n", ec) == 6);
        CHECK_FALSE(ec);
        CHECK_FALSE(os::sync(fd.get()));
    }
    std::string back;
    os::read_file(path, back);
    CHECK(back == "hello\n");
    CHECK(faults.fired() == 6);
}

TEST_CASE("os: an interrupted open or syslog(2) is the caller's: a signal must reach the loop",
          "[os]") {
    // open(2) of a FIFO and syslog(2) READ block until something happens; SIGTERM ends them.
    klog_test::temp_dir dir;
    const os::scoped_faults faults({os::fail(call::open, EINTR), os::fail(call::klogctl, EINTR)});
    std::error_code ec;
    (void)os::open(dir.file("f"), O_WRONLY | O_CREAT, 0600, ec);
    CHECK(ec == std::errc::interrupted);
    CHECK_NOTHROW(os::open(dir.file("f"), O_WRONLY | O_CREAT, 0600));  // the fault was once
    CHECK(faults.fired() == 1);
    (void)os::kernel_log(10, nullptr, 0, ec);  // SYSLOG_ACTION_SIZE_BUFFER
    CHECK(ec == std::errc::interrupted);
}

TEST_CASE("os: short writes are continued until every byte is written", "[os]") {
    klog_test::temp_dir dir;
    const auto path = dir.file("f");
    std::string text;
    for (int i = 0; i < 1000; ++i) text += "line " + std::to_string(i) + "\n";
    const os::scoped_faults faults({os::shorten(call::write, 7).always()});
    {
        auto fd = os::open(path, O_WRONLY | O_CREAT, 0600);
        std::error_code ec;
        CHECK(os::write_all(fd.get(), text, ec) == text.size());
        CHECK_FALSE(ec);
    }
    CHECK(klog_test::read_file(path) == text);
    CHECK(faults.fired() > 100);
}

TEST_CASE("os: a write that fails says how much was written before", "[os]") {
    klog_test::temp_dir dir;
    const auto path = dir.file("f");
    const os::scoped_faults faults({os::shorten(call::write, 4),
                                    os::fail(call::write, ENOSPC).after(1)});
    auto fd = os::open(path, O_WRONLY | O_CREAT, 0600);
    std::error_code ec;
    CHECK(os::write_all(fd.get(), "0123456789", ec) == 4);
    CHECK(ec == std::errc::no_space_on_device);
    CHECK(klog_test::read_file(path) == "0123");
}

TEST_CASE("os: errors name the verb and the path", "[os]") {
    klog_test::temp_dir dir;
    const auto missing = dir.file("no/such/file");
    try {
        (void)os::open(missing, O_RDONLY);
        FAIL("opened a missing file");
    } catch (const std::system_error& e) {
        CHECK(std::string(e.what()) == "cannot open " + missing + ": No such file or directory");
        CHECK(e.code() == std::errc::no_such_file_or_directory);
    }
    try {
        os::read_file(dir.path() + "/gone", *std::make_unique<std::string>());
        FAIL("read a missing file");
    } catch (const std::system_error& e) {
        CHECK(std::string(e.what()).starts_with("cannot read " + dir.path() + "/gone: "));
    }
}

TEST_CASE("os: replace_file leaves the old contents whole when any step fails", "[os]") {
    klog_test::temp_dir dir;
    const auto path = dir.file("state");
    klog_test::write_file(path, "old contents\n");
    const std::string big(200000, 'x');
    struct step {
        const char* name;
        os::fault f;
    };
    const step steps[] = {
        {"open", os::fail(call::open, EACCES).on("state.tmp")},
        {"write ENOSPC", os::fail(call::write, ENOSPC)},
        {"write after a short one", os::fail(call::write, EIO).after(1)},
        {"fsync", os::fail(call::fsync, EIO)},
        {"rename", os::fail(call::rename, EXDEV)},
    };
    for (const auto& s : steps) {
        SECTION(s.name) {
            std::vector<os::fault> faults{s.f};
            if (std::string(s.name) == "write after a short one") {
                faults.insert(faults.begin(), os::shorten(call::write, 100));
            }
            {
                const os::scoped_faults injected(faults);
                std::error_code ec;
                os::replace_file(path, big, {}, ec);
                CHECK(ec);
                CHECK(injected.fired() >= 1);
            }
            CHECK(klog_test::read_file(path) == "old contents\n");
            CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
            const os::scoped_faults again(faults);
            CHECK_THROWS_WITH(os::replace_file(path, big),
                              Catch::Matchers::StartsWith("cannot write " + path + ": "));
            CHECK(klog_test::read_file(path) == "old contents\n");
        }
    }
    os::replace_file(path, big);
    CHECK(klog_test::read_file(path) == big);
    CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::all) ==
          std::filesystem::perms(0644));
}

TEST_CASE("os: replace_file syncs the file and the directory as asked", "[os]") {
    klog_test::temp_dir dir;
    const auto path = dir.file("state");
    for (const auto& [durable, syncs] : {std::pair{os::durability::none, 0U},
                                       std::pair{os::durability::file, 1U},
                                       std::pair{os::durability::file_and_directory, 2U}}) {
        const os::scoped_faults counted({});
        os::replace_file(path, "x", {.mode = 0600, .durable = durable, .temporary = {}});
        CHECK(counted.calls(call::fsync) == syncs);
        CHECK(counted.calls(call::rename) == 1);
    }
}

TEST_CASE("os: read_regular_file takes no link, FIFO or oversized file", "[os]") {
    klog_test::temp_dir dir;
    const auto file = dir.file("f");
    klog_test::write_file(file, "12345");
    std::filesystem::create_symlink(file, dir.file("link"));
    REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0600) == 0);
    std::string out;
    std::error_code ec;
    os::read_regular_file(file, out, 5, ec);
    CHECK_FALSE(ec);
    CHECK(out == "12345");
    os::read_regular_file(file, out, 4, ec);
    CHECK(ec == std::errc::file_too_large);
    CHECK(out.empty());
    os::read_regular_file(dir.file("link"), out, 100, ec);
    CHECK(ec == std::errc::too_many_symbolic_link_levels);
    os::read_regular_file(dir.file("fifo"), out, 100, ec);  // does not block
    CHECK(ec == std::errc::invalid_argument);
}

TEST_CASE("os: a fault can be aimed at one file and after some good calls", "[os]") {
    // (A path filter is a substring: distinctive names, the temporary directory's are random.)
    klog_test::temp_dir dir;
    const os::scoped_faults faults({os::fail(call::write, EIO).after(2).on("/second.log")});
    auto a = os::open(dir.file("first.log"), O_WRONLY | O_CREAT, 0600);
    auto b = os::open(dir.file("second.log"), O_WRONLY | O_CREAT, 0600);
    std::error_code ec;
    for (int i = 0; i < 5; ++i) {
        os::write_all(a.get(), "x", ec);
        CHECK_FALSE(ec);
    }
    os::write_all(b.get(), "1", ec);
    CHECK_FALSE(ec);
    os::write_all(b.get(), "2", ec);
    CHECK_FALSE(ec);
    os::write_all(b.get(), "3", ec);
    CHECK(ec == std::errc::io_error);
    os::write_all(b.get(), "4", ec);
    CHECK_FALSE(ec);
    CHECK(klog_test::read_file(dir.file("second.log")) == "124");
    CHECK(faults.fired() == 1);
}

TEST_CASE("os: a lost write reports every byte and writes none, on each n-th call", "[os]") {
    klog_test::temp_dir dir;
    const os::scoped_faults faults({os::lose(call::write).after(1).every(3).always().on("/lossy")});
    auto f = os::open(dir.file("lossy"), O_WRONLY | O_CREAT, 0600);
    std::error_code ec;
    std::string expected;
    for (int i = 0; i < 10; ++i) {
        const std::string piece(1, static_cast<char>('0' + i));
        CHECK(os::write_all(f.get(), piece, ec) == 1);
        CHECK_FALSE(ec);
        // After the first call, the 3rd, 6th and 9th of the rest are lost: 3, 6 and 9.
        if (i != 3 && i != 6 && i != 9) expected += piece;
    }
    CHECK(klog_test::read_file(dir.file("lossy")) == expected);
    CHECK(faults.fired() == 3);
    CHECK_THROWS_AS(os::scoped_faults({os::lose(call::read)}), std::invalid_argument);
    CHECK_THROWS_AS(os::scoped_faults({os::fail(call::read, EIO).every(0)}), std::invalid_argument);
}

TEST_CASE("os: unique_fd closes once and can give its descriptor up", "[os]") {
    klog_test::temp_dir dir;
    int raw = -1;
    {
        auto fd = os::open(dir.file("f"), O_WRONLY | O_CREAT, 0600);
        raw = fd.get();
        os::unique_fd moved(std::move(fd));
        CHECK_FALSE(fd);
        CHECK(moved.get() == raw);
    }
    CHECK(::fcntl(raw, F_GETFD) == -1);  // closed by the one owner
    auto fd = os::open(dir.file("f"), O_RDONLY);
    const int kept = fd.release();
    CHECK_FALSE(fd);
    CHECK(::fcntl(kept, F_GETFD) != -1);
    CHECK((::fcntl(kept, F_GETFD) & FD_CLOEXEC) != 0);  // never inherited by a child
    ::close(kept);
}
