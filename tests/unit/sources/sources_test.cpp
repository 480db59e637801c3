// Sources against a kernel played by the test: every error return of /dev/kmsg read(2), and
// the syslog(2) backend's sizing and polling.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <string>
#include <vector>

#include "klog/formatters/raw_formatter.hpp"
#include "klog/os/faults.hpp"
#include "klog/sinks/file_sink.hpp"
#include "klog/sources/kmsg_source.hpp"
#include "klog/sources/replay_source.hpp"
#include "klog/sources/syscall_source.hpp"
#include "test_support.hpp"

using klog::sources::read_status;
using klog::sources::source_event;

namespace {

/// One scripted read(2) result: a record, or an errno.
struct step {
    std::string record;
    int error = 0;
};

klog::sources::kmsg_source::read_fn scripted(std::deque<step>& script) {
    return [&script](int, void* buffer, std::size_t size) -> ssize_t {
        if (script.empty()) {
            errno = EAGAIN;
            return -1;
        }
        const step s = script.front();
        script.pop_front();
        if (s.error != 0) {
            errno = s.error;
            return -1;
        }
        const std::size_t n = std::min(size, s.record.size());
        std::memcpy(buffer, s.record.data(), n);
        return static_cast<ssize_t>(n);
    };
}

int dummy_fd() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0);
    ::close(fds[1]);
    return fds[0];
}

}  // namespace

TEST_CASE("kmsg_source: EAGAIN drains, EINTR is retried, EPIPE and EINVAL are reported",
          "[sources][kmsg]") {
    boost::asio::io_context io;
    std::deque<step> script = {{"6,1,1,-;one\n"},
                               {"", EINTR},
                               {"6,2,2,-;two\n"},
                               {"", EPIPE},
                               {"6,9,9,-;after overrun\n"},
                               {"", EINVAL},
                               {"6,11,11,-;after too large\n"}};
    klog::sources::kmsg_source src(io, dummy_fd(), "test", scripted(script));
    klog_test::collecting_handler h;
    std::error_code ec;
    CHECK(src.read_available(h, ec) == read_status::drained);
    CHECK_FALSE(ec);
    REQUIRE(h.records.size() == 4);
    CHECK(h.records[0].text == "one");
    CHECK(h.records[1].text == "two");
    CHECK(h.records[2].seq == 9U);
    CHECK(h.records[3].seq == 11U);
    CHECK(h.events == std::vector<source_event>{source_event::overrun, source_event::record_lost});
}

TEST_CASE("kmsg_source: records and what the reads say come out in the order they were read",
          "[sources][kmsg]") {
    // The reads of a batch come before the records are decoded: an overrun or a lost record is
    // still said between the records it came between, records as large as the kernel makes
    // them fill the batch's buffer more than once, and every read is offered a whole record's
    // room.
    struct timeline final : klog::sources::record_handler {
        void on_record(const klog::record_view& r) override {
            said.push_back(r.text.size() > 20 ? "big" + std::to_string(*r.seq)
                                              : std::string(r.text));
        }
        void on_event(source_event e) override {
            said.push_back(e == source_event::overrun ? "<overrun>" : "<lost>");
        }
        std::vector<std::string> said;
    };
    boost::asio::io_context io;
    std::deque<step> script = {{"6,1,1,-;one\n"},     {"6,2,2,-;two\n"}, {"", EPIPE},
                               {"6,9,9,-;nine\n"},    {"", EINTR},       {"", EINVAL},
                               {"6,11,11,-;eleven\n"}};
    std::vector<std::string> want = {"one", "two", "<overrun>", "nine", "<lost>", "eleven"};
    // Records of the kernel's largest size (CONSOLE_EXT_LOG_MAX, 8192 bytes as read), more than
    // the batch's buffer holds at once, then an overrun after them.
    for (std::uint64_t seq = 12; seq < 12 + 20; ++seq) {
        std::string big = "6," + std::to_string(seq) + ",0,-;";
        big += std::string(8191 - big.size(), 'x');
        big += '\n';
        script.push_back({big});
        want.push_back("big" + std::to_string(seq));
    }
    script.push_back({"", EPIPE});
    script.push_back({"6,40,40,-;last\n"});
    want.push_back("<overrun>");
    want.push_back("last");
    std::size_t smallest_offer = SIZE_MAX;
    auto play = scripted(script);
    klog::sources::kmsg_source src(io, dummy_fd(), "test",
                                   [&](int fd, void* buffer, std::size_t size) {
                                       smallest_offer = std::min(smallest_offer, size);
                                       return play(fd, buffer, size);
                                   });
    timeline h;
    std::error_code ec;
    CHECK(src.read_available(h, ec) == read_status::drained);
    CHECK_FALSE(ec);
    CHECK(h.said == want);
    CHECK(smallest_offer >= 8193);
}

TEST_CASE("kmsg_source: the records read before an error are delivered before it ends reading",
          "[sources][kmsg]") {
    boost::asio::io_context io;
    std::deque<step> script = {{"6,1,1,-;one\n"}, {"6,2,2,-;two\n"}, {"", EIO}};
    klog::sources::kmsg_source src(io, dummy_fd(), "test", scripted(script));
    klog_test::collecting_handler h;
    std::error_code ec;
    CHECK(src.read_available(h, ec) == read_status::end);
    CHECK(ec == std::errc::io_error);
    REQUIRE(h.records.size() == 2);
    CHECK(h.records[1].text == "two");
    // A closed peer (read(2) returns 0) likewise.
    std::deque<step> closing = {{"6,3,3,-;three\n"}};
    klog::sources::kmsg_source src2(io, dummy_fd(), "test",
                                    [&closing](int, void* buffer, std::size_t size) -> ssize_t {
                                        if (closing.empty()) return 0;
                                        const std::string r = closing.front().record;
                                        closing.pop_front();
                                        std::memcpy(buffer, r.data(), std::min(size, r.size()));
                                        return static_cast<ssize_t>(std::min(size, r.size()));
                                    });
    CHECK(src2.read_available(h, ec) == read_status::end);
    REQUIRE(h.records.size() == 3);
    CHECK(h.records[2].text == "three");
}

TEST_CASE("kmsg_source: EPERM and other errors end reading with the error", "[sources][kmsg]") {
    boost::asio::io_context io;
    std::deque<step> script = {{"6,1,1,-;one\n"}, {"", EPERM}};
    klog::sources::kmsg_source src(io, dummy_fd(), "test", scripted(script));
    klog_test::collecting_handler h;
    std::error_code ec;
    CHECK(src.read_available(h, ec) == read_status::end);
    CHECK(ec == std::errc::operation_not_permitted);
    CHECK(h.records.size() == 1);
}

TEST_CASE("kmsg_source: a batch yields after batch_records, a closed peer ends",
          "[sources][kmsg]") {
    boost::asio::io_context io;
    std::deque<step> script;
    for (int i = 0; i < klog::sources::kmsg_source::batch_records + 5; ++i) {
        script.push_back({"6," + std::to_string(i) + ",0,-;r\n"});
    }
    klog::sources::kmsg_source src(io, dummy_fd(), "test", scripted(script));
    klog_test::collecting_handler h;
    std::error_code ec;
    CHECK(src.read_available(h, ec) == read_status::more);
    CHECK(h.records.size() == static_cast<std::size_t>(klog::sources::kmsg_source::batch_records));
    CHECK(src.read_available(h, ec) == read_status::drained);
    CHECK(h.records.size() ==
          static_cast<std::size_t>(klog::sources::kmsg_source::batch_records + 5));

    // The real read(2) on a socketpair whose writer is gone: end of input.
    klog::sources::kmsg_source closed(io, dummy_fd(), "closed");
    CHECK(closed.read_available(h, ec) == read_status::end);
}

TEST_CASE("kmsg_source: /dev/kmsg must be a character device", "[sources][kmsg]") {
    klog_test::temp_dir dir;
    klog_test::write_file(dir.file("kmsg"), "6,1,1,-;x\n");
    REQUIRE_THROWS_WITH(klog::sources::kmsg_source::open_device(dir.file("kmsg")),
                        Catch::Contains("is not a character device"));
    REQUIRE_THROWS_WITH(klog::sources::kmsg_source::open_device(dir.file("missing")),
                        Catch::Contains(dir.file("missing")));
    const int fd = klog::sources::kmsg_source::open_device(dir.file("kmsg"), false);
    CHECK(fd >= 0);
    ::close(fd);
}

namespace {

/// A kernel log buffer behind syslog(2): READ_ALL returns at most `length` bytes of the
/// buffer's tail; READ consumes; SIZE_UNREAD/SIZE_BUFFER report.
struct fake_kernel {
    std::string all;
    std::string unread;
    int size_buffer = 16;
    std::vector<int> read_all_lengths;
    int calls = 0;

    klog::sources::klogctl_fn fn() {
        return [this](int action, char* buf, int len) -> int {
            ++calls;
            namespace act = klog::sources::klogctl_action;
            switch (action) {
                case act::size_buffer:
                    return size_buffer;
                case act::size_unread:
                    return static_cast<int>(unread.size());
                case act::read_all: {
                    read_all_lengths.push_back(len);
                    const std::size_t n =
                        std::min<std::size_t>(static_cast<std::size_t>(len), all.size());
                    std::memcpy(buf, all.data() + all.size() - n, n);
                    return static_cast<int>(n);
                }
                case act::read: {
                    const std::size_t n =
                        std::min<std::size_t>(static_cast<std::size_t>(len), unread.size());
                    std::memcpy(buf, unread.data(), n);
                    unread.erase(0, n);
                    return static_cast<int>(n);
                }
                default:
                    errno = EINVAL;
                    return -1;
            }
        };
    }
};

}  // namespace

TEST_CASE("syscall_source: READ_ALL is sized from SIZE_BUFFER and grown until it fits",
          "[sources][syscall]") {
    boost::asio::io_context io;
    fake_kernel k;
    for (int i = 0; i < 10; ++i)
        k.all += "<6>[    1.00000" + std::to_string(i) + "] line " + std::to_string(i) + "\n";
    k.size_buffer = 64;  // smaller than the log: a full result means "grow and retry"
    klog::sources::syscall_source src(io, k.fn());
    klog_test::collecting_handler h;
    src.read_all(h);
    REQUIRE(h.records.size() == 10);
    CHECK(h.records.front().text == "line 0");
    CHECK(h.records.back().text == "line 9");
    REQUIRE(k.read_all_lengths.size() >= 2);
    CHECK(k.read_all_lengths.front() == 64);
    CHECK(k.read_all_lengths.back() > static_cast<int>(k.all.size()));
}

TEST_CASE("syscall_source: polls SIZE_UNREAD and reads only what is there, lines across reads",
          "[sources][syscall]") {
    boost::asio::io_context io;
    fake_kernel k;
    klog::sources::syscall_source src(io, k.fn(), std::chrono::milliseconds(1));
    klog_test::collecting_handler h;
    std::error_code ec;
    CHECK(src.read_available(h, ec) == read_status::drained);
    k.unread = "<6>[    1.000000] first li";
    CHECK(src.read_available(h, ec) == read_status::more);
    CHECK(h.records.empty());
    k.unread = "ne\n<4>[    2.000000] second\n";
    CHECK(src.read_available(h, ec) == read_status::more);
    CHECK(src.read_available(h, ec) == read_status::drained);
    REQUIRE(h.records.size() == 2);
    CHECK(h.records[0].text == "first line");
    CHECK(h.records[1].level == 4);

    // The timer wakes the daemon; a closed source cancels the wait.
    bool woke = false;
    src.async_wait([&](std::error_code e) { woke = !e; });
    io.run_for(std::chrono::seconds(2));
    CHECK(woke);
    src.close();
    CHECK(src.read_available(h, ec) == read_status::end);
}

namespace {

/// What a replay of a saved log gave, read to its end.
struct replayed {
    klog_test::collecting_handler h;
    klog::sources::replay_format format = klog::sources::replay_format::dmesg_raw;
    std::error_code ec;
};

/// Replays `path` to its end with reads of at most `piece` bytes (0: the source's own chunk).
std::unique_ptr<replayed> replay_to_end(const std::string& path, std::size_t piece) {
    using klog::sources::replay_source;
    auto r = std::make_unique<replayed>();
    boost::asio::io_context io;
    replay_source src(io, replay_source::open_file(path), "saved");
    std::vector<klog::os::fault> faults;
    if (piece != 0) faults.push_back(klog::os::shorten(klog::os::call::read, piece).always());
    const klog::os::scoped_faults shortened(faults);
    for (int n = 0; n < 100000 && src.read_available(r->h, r->ec) == read_status::more; ++n) {
    }
    r->format = src.format();
    return r;
}

}  // namespace

TEST_CASE("replay_source: records across and longer than its read chunk come out whole, in order",
          "[sources][replay]") {
    // Each read continues right after what the last one left of an unfinished record: records
    // of every size around the 64 KiB chunk and three times longer, with dictionaries, in both
    // kmsg forms, from reads of any length.
    using klog::sources::replay_source;
    constexpr std::size_t chunk = replay_source::chunk_size;
    const std::size_t sizes[] = {
        1, 10, chunk - 40, chunk - 1, chunk, chunk + 1, 7, 3 * chunk + 5, 100, 2 * chunk, 3};
    klog_test::temp_dir dir;
    for (const bool nul : {true, false}) {
        std::string file;
        std::vector<std::string> texts;
        std::uint64_t seq = 1;
        for (const std::size_t n : sizes) {
            std::string text(n, 'a');
            for (std::size_t k = 0; k < n; ++k)
                text[k] = static_cast<char>('a' + (k * 7 + seq) % 26);
            texts.push_back(text);
            file += "6," + std::to_string(seq) + ",0,-;" + text + "\n";
            if (seq % 2 == 0) file += " SUBSYSTEM=usb\n DEVICE=c189:" + std::to_string(seq) + "\n";
            if (nul) file += '\0';
            ++seq;
        }
        const auto path = dir.file(nul ? "nul" : "lines");
        klog_test::write_file(path, file);
        for (const std::size_t piece : {std::size_t{0}, std::size_t{4093}}) {
            INFO((nul ? "NUL-separated" : "lines") << ", reads of " << (piece ? piece : chunk));
            const auto r = replay_to_end(path, piece);
            const auto& h = r->h;
            CHECK_FALSE(r->ec);
            CHECK(r->format == (nul ? klog::sources::replay_format::kmsg_nul
                                    : klog::sources::replay_format::kmsg_lines));
            REQUIRE(h.records.size() == texts.size());
            for (std::size_t i = 0; i < texts.size(); ++i) {
                CHECK(h.records[i].seq == i + 1);
                CHECK(h.records[i].text == texts[i]);
                CHECK_FALSE(h.records[i].malformed);
                CHECK(h.records[i].dictionary_entries == ((i + 1) % 2 == 0 ? 2U : 0U));
            }
        }
    }
}

// Found by the review of -o: a saved log with one endless record (a file without separators,
// a corrupt dump) was held whole in memory before anything was delivered.
TEST_CASE(
    "replay_source: a record past max_record is cut, its rest dropped as it comes, and the "
    "next records come out whole",
    "[sources][replay][hostile]") {
    using klog::sources::replay_source;
    constexpr std::size_t max = replay_source::max_record;
    klog_test::temp_dir dir;
    for (const bool nul : {true, false}) {
        const std::string end = nul ? std::string("\n", 1) + '\0' : std::string("\n");
        std::string file = "6,1,0,-;before" + end;
        file += "6,2,0,-;" + std::string(max + 3 * replay_source::chunk_size + 11, 'B');
        file += "\n SUBSYSTEM=usb\n" + std::string(nul ? 1 : 0, '\0');
        file += "6,3,0,-;after" + end + "6,4,0,-;" + std::string(max - 16, 'C') + end;
        file += "6,5,0,-;last" + end;
        const auto path = dir.file(nul ? "nul" : "lines");
        klog_test::write_file(path, file);
        INFO((nul ? "NUL-separated" : "lines"));
        boost::asio::io_context io;
        replay_source src(io, replay_source::open_file(path), "saved");
        struct sizes_handler final : klog::sources::record_handler {
            struct seen {
                std::optional<std::uint64_t> seq;
                std::size_t size;
                bool malformed;
                std::string head;
            };
            std::vector<seen> records;
            void on_record(const klog::record_view& r) override {
                // Sizes, not texts: a failure must not print 16 MiB.
                records.push_back(
                    {r.seq, r.text.size(), r.malformed, std::string(r.text.substr(0, 8))});
            }
            void on_event(klog::sources::source_event) override {}
        } h;
        std::error_code ec;
        for (int n = 0; n < 100000 && src.read_available(h, ec) == read_status::more; ++n) {
        }
        CHECK_FALSE(ec);
        REQUIRE(h.records.size() == 5);
        CHECK(h.records[0].head == "before");
        CHECK(h.records[1].seq == 2U);
        CHECK(h.records[1].malformed);
        CHECK(h.records[1].size == max - 8);  // the record's first max_record bytes
        CHECK(h.records[1].head == "BBBBBBBB");
        CHECK(h.records[2].head == "after");
        CHECK_FALSE(h.records[2].malformed);
        CHECK(h.records[3].size == max - 16);  // within the bound: whole
        CHECK_FALSE(h.records[3].malformed);
        CHECK(h.records[4].head == "last");
        CHECK(src.cut_records() == 1);
    }
}

// From the review of the bound on detection: a first record longer than what detection looked
// at made a NUL-separated log read as lines (every later record malformed, a NUL record added).
TEST_CASE(
    "replay_source: a saved /dev/kmsg log whose first record is long is still told by "
    "that record's end",
    "[sources][replay]") {
    using klog::sources::replay_source;
    klog_test::temp_dir dir;
    const std::string first(300 * 1024, 'A');
    for (const bool nul : {true, false}) {
        const std::string end = nul ? std::string("\n", 1) + '\0' : std::string("\n");
        const auto path = dir.file(nul ? "nul" : "lines");
        klog_test::write_file(path, "6,1,0,-;" + first + end + "6,2,0,-;two" + end +
                                        "6,3,0,-;x\n SUBSYSTEM=usb\n" +
                                        std::string(nul ? 1 : 0, '\0'));
        INFO((nul ? "NUL-separated" : "lines"));
        for (const std::size_t piece : {std::size_t{0}, std::size_t{4093}}) {
            const auto r = replay_to_end(path, piece);
            const auto& h = r->h;
            CHECK(r->format == (nul ? klog::sources::replay_format::kmsg_nul
                                    : klog::sources::replay_format::kmsg_lines));
            REQUIRE(h.records.size() == 3);
            CHECK(h.records[0].text.size() == first.size());
            CHECK(h.records[1].text == "two");
            CHECK(h.records[2].text == "x");
            CHECK(h.records[2].dictionary_entries == 1);
            for (const auto& record : h.records) CHECK_FALSE(record.malformed);
        }
    }
}

TEST_CASE(
    "replay_source: `cat /dev/kmsg` records read exactly one per read(2) are neither joined "
    "nor split",
    "[sources][replay]") {
    // Each read ends with a record's newline: whether it ends the record is known only from the
    // next read's first byte, so that newline is looked at again then.
    using klog::sources::replay_source;
    klog_test::temp_dir dir;
    std::string file;
    for (int i = 1; i <= 6; ++i)
        file += "6," + std::to_string(i) + ",0,-;text" + std::to_string(i) + "\n";
    const std::size_t one = file.size() / 6;  // every record is as long
    const auto path = dir.file("lines");
    klog_test::write_file(path, file);
    boost::asio::io_context io;
    replay_source src(io, replay_source::open_file(path), "saved");
    klog_test::collecting_handler h;
    std::error_code ec;
    const klog::os::scoped_faults one_record_a_read(
        {klog::os::shorten(klog::os::call::read, one).always()});
    for (int n = 0; n < 1000 && src.read_available(h, ec) == read_status::more; ++n) {
    }
    CHECK(src.format() == klog::sources::replay_format::kmsg_lines);
    REQUIRE(h.records.size() == 6);
    for (std::size_t i = 0; i < 6; ++i) {
        CHECK(h.records[i].text == "text" + std::to_string(i + 1));
        CHECK_FALSE(h.records[i].malformed);
    }
}

TEST_CASE("replay_source: input with no line or record end decides its format from its start",
          "[sources][replay][hostile]") {
    // /dev/zero as --source: it was read into memory until there was none.
    using klog::sources::replay_source;
    boost::asio::io_context io;
    replay_source src(io, replay_source::open_file("/dev/zero"), "zero");
    klog_test::collecting_handler h;
    std::error_code ec;
    for (int n = 0; n < 2000; ++n) {  // 128 MiB
        REQUIRE(src.read_available(h, ec) == read_status::more);
    }
    CHECK(src.format() == klog::sources::replay_format::dmesg_plain);
    CHECK(src.cut_lines() == 1);  // one endless line, cut once, the rest dropped
    REQUIRE(h.records.size() == 1);
    CHECK(h.records[0].malformed);
    CHECK(h.records[0].text.size() <= 8192);
}

TEST_CASE("replay_source: a handler that throws loses only its record, none is repeated or joined",
          "[sources][replay]") {
    // As kmsg_source: the caller catches and reads on; every other record comes once, whole.
    struct throw_once final : klog::sources::record_handler {
        void on_record(const klog::record_view& r) override {
            if (r.seq && *r.seq == throw_at && !thrown) {
                thrown = true;
                throw std::runtime_error("sink");
            }
            seqs.push_back(r.seq.value_or(0));
            texts.emplace_back(r.text);
        }
        void on_event(source_event) override {}
        std::uint64_t throw_at = 0;
        bool thrown = false;
        std::vector<std::uint64_t> seqs;
        std::vector<std::string> texts;
    };
    using klog::sources::replay_source;
    klog_test::temp_dir dir;
    for (const bool nul : {true, false}) {
        std::string file;
        for (int i = 1; i <= 6; ++i) {
            file += "6," + std::to_string(i) + ",0,-;record " + std::to_string(i) + "\n";
            if (nul) file += '\0';
        }
        const auto path = dir.file(nul ? "nul" : "lines");
        klog_test::write_file(path, file);
        for (const std::size_t piece : {std::size_t{0}, std::size_t{40}}) {
            for (const std::uint64_t at : {1U, 2U, 4U, 6U}) {
                INFO((nul ? "NUL-separated" : "lines")
                     << ", reads of " << piece << ", throws at " << at);
                boost::asio::io_context io;
                replay_source src(io, replay_source::open_file(path), "saved");
                throw_once h;
                h.throw_at = at;
                std::vector<klog::os::fault> faults;
                if (piece != 0) {
                    faults.push_back(klog::os::shorten(klog::os::call::read, piece).always());
                }
                const klog::os::scoped_faults shortened(faults);
                std::error_code ec;
                for (int n = 0; n < 1000; ++n) {
                    try {
                        if (src.read_available(h, ec) != read_status::more) break;
                    } catch (const std::runtime_error&) {
                    }
                }
                std::vector<std::uint64_t> want;
                for (std::uint64_t seq = 1; seq <= 6; ++seq) {
                    if (seq != at) want.push_back(seq);
                }
                CHECK(h.thrown);
                CHECK(h.seqs == want);
                for (std::size_t i = 0; i < h.texts.size(); ++i) {
                    CHECK(h.texts[i] == "record " + std::to_string(h.seqs[i]));
                }
            }
        }
    }
}

TEST_CASE("replay_source: format detection", "[sources][replay]") {
    using klog::sources::replay_format;
    using klog::sources::replay_source;
    CHECK(replay_source::detect(std::string("6,1,0,-;a\n\0"
                                            "6,2,0,-;b\n",
                                            20),
                                false) == replay_format::kmsg_nul);
    CHECK(replay_source::detect("6,1,0,-;a\n SUBSYSTEM=x\n6,2,0,-;b\n", false) ==
          replay_format::kmsg_lines);
    CHECK_FALSE(replay_source::detect("6,1,0,-;a\n SUBSYSTEM=x\n", false));  // undecided yet
    CHECK(replay_source::detect("6,1,0,-;a\n", true) == replay_format::kmsg_lines);
    // Resumed where an earlier call stopped: its last newline is looked at again, now that the
    // byte after it is there; the ones before it are not.
    CHECK_FALSE(replay_source::detect("6,1,0,-;a\n", false));
    CHECK(replay_source::detect("6,1,0,-;a\n6,2,0,-;b\n", false, 10) == replay_format::kmsg_lines);
    CHECK(replay_source::detect(std::string("6,1,0,-;a\n\0", 11), false, 10) ==
          replay_format::kmsg_nul);
    CHECK_FALSE(replay_source::detect("6,1,0,-;a\n SUBSYSTEM=x\n", false, 13));
    CHECK(replay_source::detect("<6>[    0.000000] x\n", false) == replay_format::dmesg_raw);
    CHECK(replay_source::detect("[    0.000000] x\n", false) == replay_format::dmesg_plain);
    CHECK(replay_source::detect("anything else\n", false) == replay_format::dmesg_plain);
    CHECK_FALSE(replay_source::detect("<6>[  no newline yet", false));
}

TEST_CASE("kmsg_source: the errno of a failed read is the read's, not the handler's",
          "[sources][kmsg]") {
    // A sink's failed syscall inside on_record (a full disk, a closed pipe, ESPIPE from
    // sync_file_range on a FIFO) leaves its errno behind; the read's own errno must decide.
    struct clobbering final : klog::sources::record_handler {
        int set_to;
        explicit clobbering(int e) : set_to(e) {}
        void on_record(const klog::record_view&) override {
            ++records;
            errno = set_to;
        }
        void on_event(source_event e) override { events.push_back(e); }
        int records = 0;
        std::vector<source_event> events;
    };
    for (const int clobber : {ENOSPC, EPIPE, EINVAL}) {
        boost::asio::io_context io;
        std::deque<step> script = {{"6,1,1,-;one\n"}, {"6,2,2,-;two\n"}};  // then EAGAIN
        klog::sources::kmsg_source src(io, dummy_fd(), "test", scripted(script));
        clobbering h(clobber);
        std::error_code ec;
        INFO("handler leaves errno " << clobber);
        CHECK(src.read_available(h, ec) == read_status::drained);
        CHECK_FALSE(ec);
        CHECK(h.records == 2);
        CHECK(h.events.empty());
    }
}

TEST_CASE("kmsg_source: a handler that throws loses no record read after it, nor an overrun",
          "[sources][kmsg]") {
    struct throwing final : klog::sources::record_handler {
        void on_record(const klog::record_view& r) override {
            if (*r.seq == 1 && !thrown) {
                thrown = true;
                throw std::runtime_error("sink");
            }
            seqs.push_back(*r.seq);
        }
        void on_event(source_event) override {}
        bool thrown = false;
        std::vector<std::uint64_t> seqs;
    };
    boost::asio::io_context io;
    std::deque<step> script = {{"6,1,1,-;one\n"}, {"6,2,2,-;two\n"}, {"6,3,3,-;three\n"}};
    klog::sources::kmsg_source src(io, dummy_fd(), "test", scripted(script));
    throwing h;
    std::error_code ec;
    CHECK_THROWS(src.read_available(h, ec));
    CHECK(src.read_available(h, ec) == read_status::drained);
    // Only the record being handled is lost, as when each record was handled once read.
    CHECK(h.seqs == std::vector<std::uint64_t>{2, 3});

    // The batch's reads ended with an overrun: said after the records the handler had left.
    struct timeline final : klog::sources::record_handler {
        void on_record(const klog::record_view& r) override {
            if (*r.seq == 1 && !thrown) {
                thrown = true;
                throw std::runtime_error("sink");
            }
            said.push_back(std::to_string(*r.seq));
        }
        void on_event(source_event e) override {
            said.push_back(e == source_event::overrun ? "overrun" : "lost");
        }
        bool thrown = false;
        std::vector<std::string> said;
    };
    std::deque<step> overrun = {
        {"6,1,1,-;one\n"}, {"6,2,2,-;two\n"}, {"", EPIPE}, {"6,7,7,-;seven\n"}};
    klog::sources::kmsg_source src2(io, dummy_fd(), "test", scripted(overrun));
    timeline t;
    CHECK_THROWS(src2.read_available(t, ec));
    CHECK(src2.read_available(t, ec) == read_status::drained);
    CHECK(t.said == std::vector<std::string>{"2", "overrun", "7"});
}

TEST_CASE("kmsg_source: a crit record written to a full disk does not end reading",
          "[sources][kmsg]") {
    // The handler a daemon has: each record to a file output, here /dev/full. A crit record is
    // written at once (inside on_record); its write fails with ENOSPC, which the output keeps
    // and retries. Reading must go on: the kernel said EAGAIN.
    struct to_file final : klog::sources::record_handler {
        klog::sinks::file_sink out{"/dev/full",
                                   std::make_unique<klog::formatters::raw_formatter>()};
        std::uint64_t pos = 0;
        void on_record(const klog::record_view& r) override {
            klog::sinks::record_meta m;
            m.pos = ++pos;
            m.seq = r.seq;
            m.level = r.level;
            out.take(r, klog::formatters::record_time{}, m);
        }
        void on_event(source_event) override {}
    };
    boost::asio::io_context io;
    std::deque<step> script = {{"6,1,1,-;one\n"}, {"2,2,2,-;crit\n"}};  // then EAGAIN
    klog::sources::kmsg_source src(io, dummy_fd(), "test", scripted(script));
    to_file h;
    std::error_code ec;
    CHECK(src.read_available(h, ec) == read_status::drained);
    CHECK_FALSE(ec);  // not the output's "No space left on device", taken for the source's
}

TEST_CASE("replay_source: waiting for input, a quiet pipe is drained and the loop wakes for more",
          "[sources][replay]") {
    using klog::sources::replay_source;
    auto [read_end, write_end] = klog::os::pipe();
    boost::asio::io_context io;
    const int read_fd = read_end.release();
    replay_source src(io, read_fd, "pipe");
    REQUIRE(src.wait_for_input());
    klog_test::collecting_handler h;
    std::error_code ec;
    // Nothing written yet: no read(2) that would wait, the loop is told to wait instead.
    CHECK(src.read_available(h, ec) == read_status::drained);
    CHECK_FALSE(ec);
    bool woken = false;
    src.async_wait([&](std::error_code wait_ec) { woken = !wait_ec; });
    io.poll();
    CHECK_FALSE(woken);
    const std::string lines = "<6>[    1.000000] one\n<4>[    2.000000] two\n";
    REQUIRE(::write(write_end.get(), lines.data(), lines.size()) ==
            static_cast<ssize_t>(lines.size()));
    io.run_for(std::chrono::seconds(5));
    CHECK(woken);
    CHECK(src.read_available(h, ec) == read_status::more);
    CHECK(src.read_available(h, ec) == read_status::drained);
    REQUIRE(h.records.size() == 2);
    CHECK(h.records[1].text == "two");
    write_end.reset();  // the end of input
    CHECK(src.read_available(h, ec) == read_status::end);
    CHECK_FALSE(ec);
    // Found by a hostile review: an Asio wait on the descriptor made it non-blocking, which
    // every process sharing standard input saw (and a read after another reader took the
    // bytes failed with EAGAIN, ending klogd).
    std::error_code flags_ec;
    CHECK((klog::os::status_flags(read_fd, flags_ec) & O_NONBLOCK) == 0);

    // A regular file cannot be waited on: it is read to its end as before.
    klog_test::temp_dir dir;
    const auto path = dir.file("saved.log");
    klog_test::write_file(path, lines);
    replay_source file(io, replay_source::open_file(path), "saved");
    CHECK_FALSE(file.wait_for_input());
}
