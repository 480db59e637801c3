#include "klog/sequence_tracker.hpp"

namespace klog {

sequence_tracker::verdict sequence_tracker::observe(std::uint64_t seq) noexcept {
    verdict v;
    if (last_) {
        if (seq <= *last_) {
            v.duplicate = true;
            return v;
        }
        if (seq > *last_ + 1) v.missed = gap{*last_ + 1, seq - 1};
    }
    last_ = seq;
    return v;
}

}  // namespace klog
