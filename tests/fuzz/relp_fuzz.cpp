// Fuzz target: arbitrary bytes from a RELP server, in arbitrary pieces, through the parser and
// a RELP session. Never a crash; a session acknowledges only records it sent, in order.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "klog/sinks/relp.hpp"
#include "klog/sinks/stream_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    klog::sinks::relp_session session(false, 8);
    (void)session.greeting();
    std::string wire;
    std::uint64_t sent = 0;
    std::uint64_t acked = 0;
    while (!in.empty()) {
        // First byte: how many bytes form the next piece, and whether to send records first.
        const auto control = static_cast<unsigned char>(in[0]);
        in.remove_prefix(1);
        if ((control & 0x80U) != 0 && session.ready()) {
            for (unsigned i = 0; i < (control & 7U); ++i) {
                const auto token = session.frame("<6>1 - - kernel - - - x", wire);
                if (token != sent + 1) std::abort();
                sent = token;
            }
        }
        const auto piece = in.substr(0, (control & 0x3fU) + 1U);
        in.remove_prefix(piece.size());
        klog::sinks::stream_protocol::events ev;
        session.received(piece, ev);
        if (ev.acked) {
            if (*ev.acked > sent || *ev.acked <= acked) std::abort();  // only what it sent, on
            acked = *ev.acked;
        }
    }
    klog::sinks::relp::parser p;
    std::vector<klog::sinks::relp::frame> frames;
    p.feed(std::string_view(reinterpret_cast<const char*>(data), size), frames);
    for (const auto& f : frames) {
        if (f.data.size() > klog::sinks::relp::max_response_data) std::abort();
        (void)klog::sinks::relp::parse_status(f.data);
    }
    return 0;
}
