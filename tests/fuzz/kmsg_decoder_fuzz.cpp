// Fuzz target: any bytes as one /dev/kmsg record. The decoder must never crash, never read
// outside its input, and keep its invariants.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "klog/decoders/kmsg_decoder.hpp"

namespace {
bool inside(std::string_view part, std::string_view whole) {
    return part.empty() || (part.data() >= whole.data() &&
                            part.data() + part.size() <= whole.data() + whole.size());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    std::string scratch;
    const auto r = klog::decoders::parse_kmsg_record(bytes, scratch);
    // Every view points into the input or the scratch buffer.
    const std::string_view scratch_view(scratch);
    if (!inside(r.text, bytes) && !inside(r.text, scratch_view)) std::abort();
    if (!inside(r.caller, bytes)) std::abort();
    if (r.level > 7) std::abort();
    if (r.malformed && r.seq && r.text == bytes) std::abort();  // malformed headers carry no seq
    if (!r.seq && !r.malformed) std::abort();
    std::size_t n = 0;
    for (const auto& e : r.dictionary) {
        (void)e;
        ++n;
    }
    if (n != r.dictionary.size()) std::abort();
    (void)r.origin();
    return 0;
}
