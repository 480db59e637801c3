// RELP's pure parts: frames, the server's answers, and the session that turns them into
// acknowledgements of records.
#include "klog/sinks/relp.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "klog/sinks/stream_protocol.hpp"

using namespace klog::sinks;

TEST_CASE("relp: frames are TXNR SP COMMAND SP DATALEN [SP DATA] LF", "[sinks][relp]") {
    std::string out;
    relp::append_frame(7, "syslog", "<6>1 - x", out);
    relp::append_frame(8, "close", "", out);
    CHECK(out == "7 syslog 8 <6>1 - x\n8 close 0\n");
    CHECK(relp::open_offers().starts_with("relp_version=0\nrelp_software=klogd,"));
    CHECK(relp::open_offers().ends_with("\ncommands=syslog"));
}

TEST_CASE("relp: the parser takes frames in any pieces", "[sinks][relp]") {
    const std::string stream =
        "1 rsp 93 200 OK\nrelp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\n"
        "commands=syslog\n2 rsp 6 200 OK\n3 rsp 0\n0 serverclose 0\n4 rsp 0 \n";
    for (std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{17}, stream.size()}) {
        relp::parser p;
        std::vector<relp::frame> frames;
        for (std::size_t at = 0; at < stream.size(); at += piece) {
            REQUIRE(p.feed(std::string_view(stream).substr(at, piece), frames));
        }
        INFO("pieces of " << piece);
        REQUIRE(frames.size() == 5);
        CHECK(frames[0].txnr == 1);
        CHECK(frames[0].command == "rsp");
        CHECK(frames[0].data.starts_with("200 OK\nrelp_version=0"));
        CHECK(frames[1].data == "200 OK");
        CHECK(frames[2].data.empty());
        CHECK(frames[3].command == "serverclose");
        CHECK(frames[3].txnr == 0);
        CHECK(frames[4].txnr == 4);
    }
}

TEST_CASE("relp: a broken frame ends the parser with the reason", "[sinks][relp]") {
    for (const std::string bad :
         {"x rsp 0\n", "1rsp 0\n", "1 RSP 0\n", "1 rsp x\n", "1 rsp 3 abc\n\n", "1 rsp 3 abcX",
          "1234567890 rsp 0\n", "1 rsp 99999999 \n", "1  rsp 0\n", "1 rsp 3abc\n"}) {
        relp::parser p;
        std::vector<relp::frame> frames;
        INFO(bad);
        CHECK_FALSE(p.feed(bad, frames));
        CHECK(p.broken());
        CHECK_FALSE(p.error().empty());
        CHECK_FALSE(p.feed("1 rsp 0\n", frames));  // and stays broken
    }
}

TEST_CASE("relp: the status of an answer", "[sinks][relp]") {
    CHECK(relp::parse_status("200 OK")->code == 200);
    CHECK(relp::parse_status("500 queue full\nmore")->text == "queue full");
    CHECK(relp::parse_status("200")->text.empty());
    CHECK_FALSE(relp::parse_status(""));
    CHECK_FALSE(relp::parse_status("OK"));
    CHECK_FALSE(relp::parse_status("20x OK"));
}

TEST_CASE("relp session: open, transactions acknowledged in order, refusals and closes said",
          "[sinks][relp]") {
    relp_session s(false, 128);
    CHECK(s.scheme() == "relp://");
    CHECK_FALSE(s.tcp_acks());
    CHECK(s.greeting().starts_with("1 open "));
    CHECK_FALSE(s.ready());
    stream_protocol::events ev;
    s.received("1 rsp 6 200 OK\n", ev);
    CHECK(s.ready());
    CHECK_FALSE(ev.acked);
    std::string wire;
    const auto t1 = s.frame("<6>one", wire);
    const auto t2 = s.frame("<6>two", wire);
    const auto t3 = s.frame("<6>three", wire);
    CHECK(wire == "2 syslog 6 <6>one\n3 syslog 6 <6>two\n4 syslog 8 <6>three\n");
    ev = {};
    s.received("2 rsp 6 200 OK\n3 rsp 6 200 OK\n", ev);
    CHECK(ev.acked == t2);
    ev = {};
    s.received("4 rsp 14 500 queue full\n", ev);
    CHECK_FALSE(ev.acked);
    CHECK(ev.refused == "500 queue full");
    (void)t1;
    (void)t3;

    // A new connection starts over.
    s.reset();
    CHECK_FALSE(s.ready());
    (void)s.greeting();
    ev = {};
    s.received("1 rsp 6 200 OK\n0 serverclose 0\n", ev);
    CHECK(ev.closing);
    // An answer to a transaction that is not the next open one is broken.
    wire.clear();
    s.frame("<6>x", wire);
    ev = {};
    s.received("9 rsp 6 200 OK\n", ev);
    CHECK(ev.broken);
    // A server that refuses the open.
    relp_session refused(true, 4);
    CHECK(refused.scheme() == "relps://");
    (void)refused.greeting();
    ev = {};
    refused.received("1 rsp 17 500 not for klogd\n", ev);
    CHECK_FALSE(refused.ready());
    CHECK(ev.refused == "open: 500 not for klogd");
}

TEST_CASE("relp: a server's words are kept printable and short", "[sinks][relp]") {
    CHECK(relp::parse_status("500 bad\x1b[31m red\x01")->text == "bad?[31m red?");
    CHECK(relp::parse_status("500 " + std::string(1000, 'x'))->text.size() ==
          relp::max_status_text);
}

TEST_CASE("relp session: after a refusal no answer acknowledges anything until a new connection",
          "[sinks][relp]") {
    relp_session s(false, 128);
    (void)s.greeting();
    stream_protocol::events ev;
    s.received("1 rsp 6 200 OK\n", ev);
    std::string wire;
    for (const char* r : {"<6>a", "<6>b", "<6>c", "<6>d"}) (void)s.frame(r, wire);
    ev = {};
    s.received("2 rsp 6 200 OK\n3 rsp 11 500 not now\n", ev);
    CHECK(ev.acked == 1U);
    CHECK(ev.refused == "500 not now");
    CHECK_FALSE(ev.refused_open);
    // The answers to records 3 and 4, in a later read: they must not acknowledge record 2.
    ev = {};
    s.received("4 rsp 6 200 OK\n5 rsp 6 200 OK\n", ev);
    CHECK_FALSE(ev.acked);
    // A broken frame spoils the session too.
    relp_session b(false, 128);
    (void)b.greeting();
    ev = {};
    b.received("1 rsp 6 200 OK\n", ev);
    wire.clear();
    (void)b.frame("<6>a", wire);
    (void)b.frame("<6>b", wire);
    ev = {};
    b.received("2 rsp x\n", ev);
    CHECK(ev.broken);
    ev = {};
    b.received("3 rsp 6 200 OK\n", ev);
    CHECK_FALSE(ev.acked);
    // A refused open is the session's, not a record's.
    relp_session o(false, 128);
    (void)o.greeting();
    ev = {};
    o.received("1 rsp 6 500 no\n", ev);
    CHECK(ev.refused_open);
}
