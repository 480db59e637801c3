// Faults injected into the tcp, tls and relp outputs, whose connect, send and receive Asio makes
// (klog::os::asio_step_fault): refused connects, sends that fail with EPIPE or EIO, receives
// that fail with ECONNRESET. Against a collector in this process on 127.0.0.1, every record
// arrives, in order of first arrival, and a record arrives twice only where the output says it
// sent it again.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "klog/formatters/raw_formatter.hpp"
#include "klog/os/faults.hpp"
#include "klog/sinks/relp.hpp"
#include "klog/sinks/stream_sink.hpp"
#include "syslog_receiver.hpp"
#include "test_support.hpp"

namespace os = klog::os;
namespace asio = boost::asio;
using asio::ip::tcp;
using os::call;
using klog_test::make_test_pki;
using klog_test::temp_dir;
using klog_test::test_pki;

namespace {

enum class protocol { tcp, tls, relp };

/// A syslog collector on 127.0.0.1 (a port of the kernel's choice): octet-counted frames (over
/// TLS with `pki`'s server certificate for protocol::tls), or RELP with every transaction
/// answered 200. It keeps each record's text from "kept " on.
class collector {
  public:
    collector(asio::io_context& io, protocol p, const test_pki* pki)
        : relp_(p == protocol::relp),
          acceptor_(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
        if (p == protocol::tls) {
            tls_.emplace(asio::ssl::context::tls_server);
            tls_->use_certificate_chain_file(pki->cert);
            tls_->use_private_key_file(pki->key, asio::ssl::context::pem);
        }
        accept();
    }
    [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    std::vector<std::string> records;
    int connections = 0;

  private:
    struct connection {
        explicit connection(tcp::socket s) : socket(std::move(s)) {}
        tcp::socket socket;
        std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls;
        std::array<char, 4096> buffer{};
        std::string pending;  // octet counting: bytes of an incomplete frame
        klog::sinks::relp::parser parser;
    };

    void accept() {
        acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
            if (ec) return;
            ++connections;
            auto c = std::make_shared<connection>(std::move(s));
            if (tls_) {
                c->tls = std::make_unique<asio::ssl::stream<tcp::socket&>>(c->socket, *tls_);
                c->tls->async_handshake(asio::ssl::stream_base::server,
                                        [this, c](const boost::system::error_code& e) {
                                            if (!e) read(c);  // else the output gave up on it
                                        });
            } else {
                read(c);
            }
            accept();
        });
    }

    void read(const std::shared_ptr<connection>& c) {
        auto got = [this, c](const boost::system::error_code& ec, std::size_t n) {
            if (ec) return;  // the output closed this connection
            take(*c, std::string_view(c->buffer.data(), n));
            read(c);
        };
        if (c->tls) {
            c->tls->async_read_some(asio::buffer(c->buffer), std::move(got));
        } else {
            c->socket.async_read_some(asio::buffer(c->buffer), std::move(got));
        }
    }

    void keep(std::string_view message) {
        const auto at = message.find("kept ");
        REQUIRE(at != std::string_view::npos);
        records.emplace_back(message.substr(at));
    }

    void take(connection& c, std::string_view bytes) {
        if (!relp_) {
            c.pending.append(bytes);
            for (;;) {
                const auto sp = c.pending.find(' ');
                if (sp == std::string::npos) return;
                const auto len = std::stoul(c.pending.substr(0, sp));
                if (c.pending.size() < sp + 1 + len) return;
                keep(std::string_view(c.pending).substr(sp + 1, len));
                c.pending.erase(0, sp + 1 + len);
            }
        }
        std::vector<klog::sinks::relp::frame> frames;
        REQUIRE(c.parser.feed(bytes, frames));
        for (const auto& f : frames) {
            std::string answer;
            if (f.command == "open") {
                klog::sinks::relp::append_frame(f.txnr, "rsp",
                                                "200 OK\nrelp_version=0\ncommands=syslog", answer);
            } else {
                if (f.command == "syslog") keep(f.data);
                klog::sinks::relp::append_frame(f.txnr, "rsp", "200 OK", answer);
            }
            auto shared = std::make_shared<std::string>(std::move(answer));
            asio::async_write(c.socket, asio::buffer(*shared),
                              [shared](const boost::system::error_code&, std::size_t) {});
        }
    }

    bool relp_;
    std::optional<asio::ssl::context> tls_;
    tcp::acceptor acceptor_;
};

/// Records "kept 1".."kept N" through a stream output while `faults` are in force, one at a
/// time with its event loop between (so that there are sends enough for every fault to come
/// due); then its event loop until everything is acknowledged (bounded: 10 s).
void deliver_through_faults(protocol p, std::vector<os::fault> faults, unsigned expect_fired) {
    constexpr std::uint64_t n = 120;
    const temp_dir dir;
    std::optional<test_pki> pki;
    if (p == protocol::tls) pki = make_test_pki(dir.path());
    asio::io_context io;
    collector peer(io, p, pki ? &*pki : nullptr);
    klog::sinks::stream_sink::settings s;
    s.relp = p == protocol::relp;
    s.tls = p == protocol::tls;
    if (pki) s.tls_ca = pki->ca;
    s.endpoint = {"127.0.0.1", peer.port()};
    s.backoff_initial = std::chrono::milliseconds(5);
    s.backoff_max = std::chrono::milliseconds(20);
    s.ack_poll = std::chrono::milliseconds(5);
    std::vector<std::string> said;
    klog::sinks::stream_sink sink(io, s, std::make_unique<klog::formatters::raw_formatter>(),
                                  klog::sinks::when_full::block,
                                  [&said](const std::string& m) { said.push_back(m); });
    const os::scoped_faults injected(std::move(faults));
    const klog::formatters::record_time t{};
    std::vector<std::string> texts;
    for (std::uint64_t seq = 1; seq <= n; ++seq) texts.push_back("kept " + std::to_string(seq));
    for (std::uint64_t seq = 1; seq <= n; ++seq) {
        klog::record_view r;
        r.seq = seq;
        r.text = texts[seq - 1];
        klog::sinks::record_meta m;
        m.pos = seq;
        m.seq = seq;
        sink.take(r, t, m);
        sink.flush();
        io.run_for(std::chrono::milliseconds(2));
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while ((!sink.idle() || peer.records.size() < n) &&
           std::chrono::steady_clock::now() < deadline) {
        sink.flush();
        io.run_for(std::chrono::milliseconds(10));
    }
    INFO("said: " << (said.empty() ? std::string("nothing") : said.back()));
    CHECK(sink.idle());
    CHECK(injected.fired() == expect_fired);
    CHECK(peer.connections > 1);
    // Every record, in order of first arrival; a second arrival only for one sent again.
    std::map<std::string, int> seen;
    std::vector<std::string> first;
    for (const auto& r : peer.records) {
        if (seen[r]++ == 0) first.push_back(r);
    }
    CHECK(first == texts);
    CHECK(peer.records.size() - first.size() <= sink.counters().resent);
    CHECK(sink.counters().written >= n);
}

/// tcp and tls (octet counting, counted as sent when written): refused connects, sends failing
/// with EPIPE, EIO and EINTR, a receive cut off by ECONNRESET.
void deliver_through_octet_counting_faults(protocol p) {
    deliver_through_faults(p,
                           {os::fail(call::connect, ECONNREFUSED).after(1).repeat(2).on("127.0.0.1"),
                            os::fail(call::send, EPIPE).after(2).repeat(2).on("127.0.0.1"),
                            os::fail(call::send, EIO).after(6).on("127.0.0.1"),
                            os::fail(call::send, EINTR).after(7).repeat(3).on("127.0.0.1"),
                            os::fail(call::receive, ECONNRESET).after(3).on("127.0.0.1")},
                           2 + 2 + 1 + 3 + 1);
}

}  // namespace

TEST_CASE("faults: a tcp output whose connects are refused and whose sends and receives fail "
          "delivers every record in order, and sends again only what it says",
          "[os][faults][sinks]") {
    deliver_through_octet_counting_faults(protocol::tcp);
}

TEST_CASE("faults: a relp output whose connects are refused, whose sends fail and whose "
          "answers are cut off delivers every record in order, and sends again only what it says",
          "[os][faults][sinks][relp]") {
    deliver_through_faults(protocol::relp,
                           {os::fail(call::connect, ECONNREFUSED).after(1).repeat(2).on("127.0.0.1"),
                            os::fail(call::send, EPIPE).after(3).repeat(2).on("127.0.0.1"),
                            os::fail(call::send, EIO).after(8).on("127.0.0.1"),
                            os::fail(call::receive, ECONNRESET).after(5).every(3).repeat(3)
                                .on("127.0.0.1")},
                           2 + 2 + 1 + 3);
}

TEST_CASE("faults: a tls output whose connects are refused and whose sends and receives fail "
          "delivers every record in order, and sends again only what it says",
          "[os][faults][sinks][tls]") {
    deliver_through_octet_counting_faults(protocol::tls);
}
