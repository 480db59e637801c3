// Faults injected through the OS seam into the sources and the local syslog output: every
// errno the kernel can give read(2) and send(2) there, with real descriptors behind them.
#include <fcntl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>

#include "klog/os/faults.hpp"
#include "klog/os/os.hpp"
#include "klog/formatters/raw_formatter.hpp"
#include "klog/sinks/syslog_sink.hpp"
#include "klog/sinks/udp_sink.hpp"
#include "klog/sources/kmsg_source.hpp"
#include "klog/sources/proc_kmsg_source.hpp"
#include "klog/sources/replay_source.hpp"
#include "klog/sources/syscall_source.hpp"
#include "test_support.hpp"

namespace os = klog::os;
using klog::sources::read_status;
using klog::sources::source_event;
using os::call;

namespace {

klog::record_view text_record(std::uint64_t seq, std::string_view text) {
    klog::record_view r;
    r.seq = seq;
    r.level = 6;
    r.text = text;
    return r;
}

/// The other end of a datagram output: a Unix socket at a path, or UDP on 127.0.0.1.
class datagram_receiver {
  public:
    explicit datagram_receiver(const std::string& unix_path) {
        std::error_code ec;
        fd_ = os::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, ec);
        REQUIRE_FALSE(ec);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, unix_path.c_str(), unix_path.size());
        REQUIRE_FALSE(os::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr));
        int big = 4 << 20;
        (void)os::set_option(fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    }
    datagram_receiver() {  // UDP on 127.0.0.1, a port of the kernel's choice
        std::error_code ec;
        fd_ = os::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0, ec);
        REQUIRE_FALSE(ec);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE_FALSE(os::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr));
        socklen_t len = sizeof addr;
        REQUIRE(::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        port_ = ntohs(addr.sin_port);
    }
    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    /// Every datagram waiting, from `marker` on (the records' text after the header).
    std::vector<std::string> receive(std::string_view marker) {
        std::vector<std::string> got;
        char buf[4096];
        for (;;) {
            std::error_code ec;
            const auto n = os::receive_from(fd_.get(), buf, sizeof buf, 0, nullptr, nullptr, ec);
            if (ec) break;
            const std::string_view d(buf, n);
            const auto at = d.find(marker);
            REQUIRE(at != std::string_view::npos);
            got.emplace_back(d.substr(at));
        }
        return got;
    }

  private:
    os::unique_fd fd_;
    std::uint16_t port_ = 0;
};

/// Three records "kept 1..3" given to `sink` while every send fails with ENOBUFS, then 200 ms
/// of its event loop: how many sends it tried.
unsigned sends_refused_for_memory(klog::sinks::sink& sink, boost::asio::io_context& io) {
    const klog::formatters::record_time t{};
    const os::scoped_faults faults({os::fail(call::send, ENOBUFS).always()});
    for (std::uint64_t seq = 1; seq <= 3; ++seq) {
        klog::sinks::record_meta m;
        m.pos = seq;
        m.seq = seq;
        sink.take(text_record(seq, "kept " + std::to_string(seq)), t, m);
    }
    io.restart();
    io.run_for(std::chrono::milliseconds(200));
    return faults.calls(call::send);
}

}  // namespace

TEST_CASE("faults: /dev/kmsg reads that are interrupted, overrun or not ready lose nothing",
          "[os][faults][sources]") {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    const os::unique_fd kernel(fds[1]);
    for (int i = 1; i <= 20; ++i) {
        const auto rec = "6," + std::to_string(i) + ",0,-;record " + std::to_string(i) + "\n";
        REQUIRE(::send(kernel.get(), rec.data(), rec.size(), 0) == static_cast<ssize_t>(rec.size()));
    }
    boost::asio::io_context io;
    klog::sources::kmsg_source src(io, fds[0], "kmsg");
    klog_test::collecting_handler h;
    std::error_code ec;
    {
        const os::scoped_faults faults({os::fail(call::read, EINTR).repeat(3),
                                        os::fail(call::read, EPIPE).after(5),
                                        os::fail(call::read, EAGAIN).after(10)});
        CHECK(src.read_available(h, ec) == read_status::drained);  // the EAGAIN
        CHECK_FALSE(ec);
        CHECK(faults.fired() == 5);
    }
    CHECK(h.events == std::vector<source_event>{source_event::overrun});
    CHECK(src.read_available(h, ec) == read_status::drained);
    REQUIRE(h.records.size() == 20);
    for (std::size_t i = 0; i < 20; ++i) CHECK(h.records[i].seq == i + 1);
    {
        const os::scoped_faults faults({os::fail(call::read, EIO)});
        CHECK(src.read_available(h, ec) == read_status::end);
        CHECK(ec == std::errc::io_error);
    }
}

TEST_CASE("faults: /proc/kmsg reads that are interrupted, short or not ready lose nothing and "
          "an I/O error ends reading",
          "[os][faults][sources]") {
    auto [read_end, write_end] = os::pipe();
    REQUIRE(::fcntl(read_end.get(), F_SETFL, O_NONBLOCK) == 0);
    std::string text;
    for (int i = 1; i <= 50; ++i) text += "<6>[    1.000000] line " + std::to_string(i) + "\n";
    std::error_code ec;
    REQUIRE(os::write_all(write_end.get(), text, ec) == text.size());
    boost::asio::io_context io;
    klog::sources::proc_kmsg_source src(io, read_end.release(), "proc");
    klog_test::collecting_handler h;
    {
        const os::scoped_faults faults({os::fail(call::read, EINTR).repeat(2),
                                        os::shorten(call::read, 7).always()});
        for (int n = 0; n < 1000 && src.read_available(h, ec) == read_status::more; ++n) {
        }
        CHECK_FALSE(ec);
    }
    {
        const os::scoped_faults faults({os::fail(call::read, EAGAIN)});
        CHECK(src.read_available(h, ec) == read_status::drained);
        CHECK_FALSE(ec);
    }
    REQUIRE(h.records.size() >= 49);  // the last line waits for its end (more may follow)
    for (std::size_t i = 0; i < h.records.size(); ++i) {
        CHECK(h.records[i].text == "line " + std::to_string(i + 1));
    }
    const os::scoped_faults faults({os::fail(call::read, EIO)});
    CHECK(src.read_available(h, ec) == read_status::end);
    CHECK(ec == std::errc::io_error);
}

TEST_CASE("faults: syslog(2) through the seam: READ_ALL interrupted is made again, a refusal is "
          "said, and the destructive READ is never reached when SIZE_UNREAD fails",
          "[os][faults][sources]") {
    // Only READ_ALL and SIZE_BUFFER reach this machine's kernel: both leave its log as it is.
    // Every call that could lead to the destructive READ fails by injection.
    boost::asio::io_context io;
    klog::sources::syscall_source src(io, klog::sources::system_klogctl(),
                                      std::chrono::milliseconds(1000));
    klog_test::collecting_handler plain;
    src.read_all(plain);
    REQUIRE_FALSE(plain.records.empty());
    {
        // SIZE_BUFFER fails (the fallback size is used), READ_ALL is interrupted three times.
        const os::scoped_faults faults({os::fail(call::klogctl, EIO),
                                        os::fail(call::klogctl, EINTR).after(1).repeat(3)});
        klog_test::collecting_handler h;
        src.read_all(h);
        CHECK(faults.fired() == 4);
        // The log may have grown between the two reads, never shrunk at its start by us.
        REQUIRE(h.records.size() >= plain.records.size() / 2);
        CHECK_FALSE(h.records.empty());
    }
    {
        const os::scoped_faults faults({os::fail(call::klogctl, EPERM).after(1).always()});
        klog_test::collecting_handler h;
        CHECK_THROWS_WITH(src.read_all(h), Catch::Contains("READ_ALL") &&
                                               Catch::Contains("not permitted"));
    }
    {
        const os::scoped_faults faults({os::fail(call::klogctl, EINTR),
                                        os::fail(call::klogctl, EPERM).always()});
        klog_test::collecting_handler h;
        std::error_code ec;
        CHECK(src.read_available(h, ec) == read_status::more);  // interrupted: again later
        CHECK_FALSE(ec);
        CHECK(src.read_available(h, ec) == read_status::end);
        CHECK(ec == std::errc::operation_not_permitted);
        CHECK(h.records.empty());
        CHECK(faults.calls(call::klogctl) == 1);  // the EPERM one (an EINTR is not counted)
    }
}

TEST_CASE("faults: a saved log read in short pieces gives the same records, an I/O error ends it",
          "[os][faults][sources]") {
    klog_test::temp_dir dir;
    std::string text;
    for (int i = 1; i <= 300; ++i) text += "6," + std::to_string(i) + ",0,-;saved " + std::to_string(i) + "\n";
    klog_test::write_file(dir.file("saved"), text);
    const auto read_all = [&](std::vector<os::fault> faults, std::error_code& ec) {
        boost::asio::io_context io;
        klog::sources::replay_source src(io, klog::sources::replay_source::open_file(dir.file("saved")),
                                         "saved");
        klog_test::collecting_handler h;
        const os::scoped_faults injected(std::move(faults));
        for (int n = 0; n < 100000 && src.read_available(h, ec) == read_status::more; ++n) {
        }
        return h.records;
    };
    std::error_code ec;
    const auto whole = read_all({}, ec);
    REQUIRE(whole.size() == 300);
    const auto pieces = read_all({os::shorten(call::read, 13).always(),
                                  os::fail(call::read, EINTR).repeat(5)}, ec);
    CHECK_FALSE(ec);
    REQUIRE(pieces.size() == 300);
    for (std::size_t i = 0; i < 300; ++i) CHECK(pieces[i].text == whole[i].text);
    (void)read_all({os::fail(call::read, EIO).after(3), os::shorten(call::read, 100).always()}, ec);
    CHECK(ec == std::errc::io_error);
}

TEST_CASE("faults: the local syslog output sends every record once, in order, through "
          "interrupted, busy and refused sends",
          "[os][faults][sinks]") {
    klog_test::temp_dir dir;
    const auto path = dir.file("log");
    std::error_code ec;
    datagram_receiver receiver(path);
    boost::asio::io_context io;
    klog::sinks::syslog_sink::settings s;
    s.path = path;
    s.retry_initial = std::chrono::milliseconds(1);
    s.retry_max = std::chrono::milliseconds(4);
    klog::sinks::syslog_sink sink(io, s);
    const klog::formatters::record_time t{};
    constexpr int records = 300;
    std::vector<int> got;
    // The syslog daemon's side: a Unix datagram queue is short (net.unix.max_dgram_qlen).
    const auto receive = [&] {
        for (const auto& d : receiver.receive("sent ")) got.push_back(std::stoi(d.substr(5)));
    };
    {
        const os::scoped_faults faults({os::fail(call::send, EINTR).after(10).repeat(5),
                                        os::fail(call::send, ENOBUFS).after(40).repeat(3),
                                        os::fail(call::send, EAGAIN).after(90).repeat(2),
                                        os::fail(call::send, ECONNREFUSED).after(150).repeat(4),
                                        os::fail(call::send, ENOENT).after(220)});
        for (int i = 1; i <= records; ++i) {
            klog::sinks::record_meta m;
            m.pos = static_cast<std::uint64_t>(i);
            m.seq = static_cast<std::uint64_t>(i);
            sink.take(text_record(static_cast<std::uint64_t>(i), "sent " + std::to_string(i)), t, m);
            io.restart();  // poll() stops the context whenever nothing is pending
            io.poll();
            receive();
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!sink.idle() && std::chrono::steady_clock::now() < deadline) {
            io.restart();
            io.run_for(std::chrono::milliseconds(5));
            receive();
        }
        CHECK(sink.idle());
        CHECK(faults.fired() == 15);
    }
    receive();
    REQUIRE(got.size() == records);
    for (int i = 0; i < records; ++i) CHECK(got[static_cast<std::size_t>(i)] == i + 1);
}

TEST_CASE("faults: the local syslog output backs off while sends fail for want of memory "
          "(ENOBUFS) instead of spinning, and loses nothing",
          "[os][faults][sinks]") {
    klog_test::temp_dir dir;
    const auto path = dir.file("log");
    std::error_code ec;
    datagram_receiver receiver(path);
    boost::asio::io_context io;
    klog::sinks::syslog_sink::settings s;
    s.path = path;
    s.retry_initial = std::chrono::milliseconds(1);
    s.retry_max = std::chrono::milliseconds(20);
    klog::sinks::syslog_sink sink(io, s);
    const unsigned attempts = sends_refused_for_memory(sink, io);
    // Backing off 1, 2, 4 ... 20 ms: about a dozen tries in 200 ms, not thousands.
    CHECK(attempts >= 3);
    CHECK(attempts <= 30);
    CHECK(sink.unsafe() == 3);
    for (int n = 0; n < 200 && !sink.idle(); ++n) {
        io.restart();
        io.run_for(std::chrono::milliseconds(5));
    }
    CHECK(sink.idle());
    CHECK(receiver.receive("kept ") == std::vector<std::string>{"kept 1", "kept 2", "kept 3"});
}

TEST_CASE("faults: a UDP output backs off while sends fail for want of memory (ENOBUFS) "
          "instead of spinning, and then sends what waited",
          "[os][faults][sinks]") {
    datagram_receiver receiver;
    boost::asio::io_context io;
    klog::sinks::udp_sink::settings s;
    s.endpoint = {"127.0.0.1", receiver.port()};
    s.retry_busy = std::chrono::milliseconds(10);
    klog::sinks::udp_sink sink(io, s, std::make_unique<klog::formatters::raw_formatter>());
    for (int n = 0; n < 100; ++n) {  // resolved and connected
        io.restart();
        io.run_for(std::chrono::milliseconds(5));
    }
    const unsigned attempts = sends_refused_for_memory(sink, io);
    CHECK(attempts >= 3);
    CHECK(attempts <= 40);  // every 10 ms, not in a loop
    for (int n = 0; n < 100 && !sink.idle(); ++n) {
        io.restart();
        io.run_for(std::chrono::milliseconds(5));
    }
    CHECK(receiver.receive("kept ") == std::vector<std::string>{"kept 1", "kept 2", "kept 3"});
}
