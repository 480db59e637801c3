// The pid file: one daemon at a time, and no file another user could have planted or rewrite.
#include "klogd/pidfile.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "test_support.hpp"

TEST_CASE("pidfile: written with the pid, held, removed", "[klogd][pidfile]") {
    klog_test::temp_dir dir;
    const auto path = dir.file("klogd.pid");
    {
        klogd::pidfile p(path);
        p.write(::getpid());
        CHECK(klog_test::read_file(path) == std::to_string(::getpid()) + "\n");
        // A second daemon is refused while the first holds it.
        CHECK_THROWS_WITH(klogd::pidfile(path), Catch::Matchers::Contains("already running") &&
                                                    Catch::Matchers::Contains(path));
        p.remove();
        CHECK_FALSE(std::filesystem::exists(path));
    }
    // Nobody holds it now: no daemon named by it.
    klog_test::write_file(path, "12345\n");
    ::chmod(path.c_str(), 0644);
    CHECK_FALSE(klogd::pidfile::running_pid(path));
    CHECK_FALSE(klogd::pidfile::running_pid(dir.file("missing")));
}

TEST_CASE("pidfile: a file writable by others, a link or a directory is refused",
          "[klogd][pidfile]") {
    klog_test::temp_dir dir;
    const auto writable = dir.file("w.pid");
    klog_test::write_file(writable, "1\n");
    ::chmod(writable.c_str(), 0666);
    CHECK_THROWS_WITH(klogd::pidfile(writable), Catch::Matchers::Contains("writable by group or others"));
    std::filesystem::create_symlink(dir.file("elsewhere"), dir.file("link.pid"));
    CHECK_THROWS(klogd::pidfile(dir.file("link.pid")));
    CHECK_FALSE(std::filesystem::exists(dir.file("elsewhere")));  // nothing made through it
    klog_test::write_file(dir.file("target"), "");
    ::chmod(dir.file("target").c_str(), 0644);
    std::filesystem::create_hard_link(dir.file("target"), dir.file("hard.pid"));
    CHECK_THROWS_WITH(klogd::pidfile(dir.file("hard.pid")), Catch::Matchers::Contains("hard links"));
}
