// Fuzz target: any bytes as kernel log lines (`<N>[secs.usecs][caller] text`), with sequence
// numbers that go on, skip or go back as the first byte says, through the incident stage.
// Whatever comes, every incident stays within its bounds and formats as JSON, rfc5424 SD and
// a summary; the stage never throws and ends with nothing open.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "klog/decoders/line_decoder.hpp"
#include "klog/formatters/rfc5424_formatter.hpp"
#include "klog/incidents/incident_stage.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const unsigned mode = data[0];
    const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    klog::incidents::incident_stage::limits lim;
    lim.max_records = 8 + mode % 32;  // small bounds, so that they are reached
    lim.max_open = 1 + mode % 3;
    std::uint64_t reports = 0;
    const auto check = [&](const klog::incidents::incident& i) {
        ++reports;
        if (i.title.size() > lim.max_text || i.detail.size() > lim.max_text) std::abort();
        if (i.frames.size() > lim.max_frames || i.modules.size() > lim.max_modules) std::abort();
        if (i.signature.empty() || i.count == 0) std::abort();
        std::string out;
        i.append_json(out);
        klog::formatters::rfc5424_formatter::append_incident(out, i);
        out += i.summary();
        if (out.empty()) std::abort();
    };
    klog::incidents::incident_stage stage(check, lim, {});
    klog::decoders::line_decoder decoder(klog::decoders::line_decoder::prefix::optional);
    std::uint64_t seq = 1000;
    unsigned n = 0;
    decoder.feed(bytes, [&](klog::record_view r) {
        switch ((mode >> 2) % 4) {
            case 1: seq += (n % 7 == 6) ? 3 : 1; break;  // gaps
            case 2: seq = (n % 11 == 10) ? seq - 5 : seq + 1; break;  // goes back
            case 3: break;  // no sequence numbers (/proc/kmsg)
            default: ++seq; break;
        }
        if ((mode >> 2) % 4 != 3) r.seq = seq;
        r.pstore = (mode & 0x80) != 0;
        stage.set_pstore(r.pstore);
        stage.feed(r, (n++ % 5) == 0 && (mode & 0x40) != 0);
        if (n % 13 == 0) stage.expire();
    });
    stage.finish();
    if (stage.busy()) std::abort();
    (void)reports;
    return 0;
}
