#include "klog/sinks/stream_protocol.hpp"

namespace klog::sinks {

void relp_session::reset() {
    open_ = false;
    spoiled_ = false;
    txnr_ = 0;
    open_txnr_ = 0;
    next_token_ = 1;
    in_flight_.clear();
    parser_.reset();
    frames_.clear();
}

std::uint32_t relp_session::next_txnr() {
    txnr_ = txnr_ >= relp::max_txnr ? 1 : txnr_ + 1;
    return txnr_;
}

std::string relp_session::greeting() {
    std::string out;
    open_txnr_ = next_txnr();
    relp::append_frame(open_txnr_, "open", relp::open_offers(), out);
    return out;
}

std::uint64_t relp_session::frame(std::string_view record, std::string& wire) {
    const auto txnr = next_txnr();
    const auto token = next_token_++;
    relp::append_frame(txnr, "syslog", record, wire);
    in_flight_.emplace_back(txnr, token);
    return token;
}

std::string relp_session::farewell() {
    std::string out;
    relp::append_frame(next_txnr(), "close", {}, out);
    return out;
}

void relp_session::received(std::string_view bytes, events& ev) {
    if (spoiled_) return;
    frames_.clear();
    const bool ok = parser_.feed(bytes, frames_);
    for (auto& f : frames_) {
        if (f.command == "serverclose") {
            ev.closing = true;
            continue;
        }
        if (f.command != "rsp") {
            ev.broken = "unexpected command '" + f.command + "' from the server";
            spoiled_ = true;
            return;
        }
        const auto st = relp::parse_status(f.data);
        if (open_txnr_ != 0 && f.txnr == open_txnr_) {
            open_txnr_ = 0;
            if (st && st->code == 200) {
                open_ = true;
            } else {
                ev.refused = "open: " + (st ? std::to_string(st->code) + " " + st->text
                                            : std::string("no status"));
                ev.refused_open = true;
                spoiled_ = true;
                return;
            }
            continue;
        }
        if (!open_) continue;  // the answer to our close, or a stray one before the open's
        // Answers come in the order of the transactions.
        if (in_flight_.empty() || in_flight_.front().first != f.txnr) {
            if (st && st->code == 200 && in_flight_.empty()) continue;  // our close's answer
            ev.broken = "an answer to transaction " + std::to_string(f.txnr) +
                        " that was not the next open one";
            spoiled_ = true;
            return;
        }
        const auto token = in_flight_.front().second;
        in_flight_.pop_front();
        if (!st || st->code != 200) {
            ev.refused = st ? std::to_string(st->code) + " " + st->text
                            : std::string("an answer without a status");
            spoiled_ = true;
            return;  // the record is sent again (with everything after it)
        }
        ev.acked = token;
    }
    if (!ok) {
        ev.broken = "a broken frame: " + parser_.error();
        spoiled_ = true;
    }
}

}  // namespace klog::sinks
