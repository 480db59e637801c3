// Fuzz target: any bytes as /proc/kmsg or syslog(2) output, fed whole and split at every
// position given by the first byte. Both ways must give the same records.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "klog/decoders/line_decoder.hpp"
#include "../support/owned_record.hpp"

namespace {
std::vector<klog_test::record> decode(std::string_view bytes, std::size_t step) {
    klog::decoders::line_decoder d;
    std::vector<klog_test::record> out;
    auto keep = [&](const klog::record_view& r) { out.emplace_back(r); };
    for (std::size_t i = 0; i < bytes.size(); i += step) d.feed(bytes.substr(i, step), keep);
    d.finish(keep);
    return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t step = 1 + data[0] % 17;
    const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    const auto whole = decode(bytes, bytes.size() + 1);
    const auto split = decode(bytes, step);
    if (whole.size() != split.size()) std::abort();
    for (std::size_t i = 0; i < whole.size(); ++i) {
        const auto& a = whole[i];
        const auto& b = split[i];
        if (a.text != b.text || a.level != b.level || a.facility != b.facility ||
            a.ts_usec != b.ts_usec || a.caller != b.caller || a.malformed != b.malformed) {
            std::abort();
        }
        if (a.level > 7 || a.text.find('\n') != std::string::npos) std::abort();
    }
    return 0;
}
