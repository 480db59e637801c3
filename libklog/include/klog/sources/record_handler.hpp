#pragma once

#include "klog/record_view.hpp"

namespace klog::sources {

/// What a source reports besides records. Gaps themselves are found from sequence numbers by
/// the pipeline; these say why one is coming.
enum class source_event {
    overrun,      ///< /dev/kmsg EPIPE: the ring overwrote records we had not read
    record_lost,  ///< /dev/kmsg EINVAL: a record did not fit the read buffer and was skipped
};

/// Receives what a source reads. Called on the io_context's thread, never concurrently.
class record_handler {
  public:
    virtual ~record_handler() = default;
    virtual void on_record(const record_view& record) = 0;
    virtual void on_event(source_event event) = 0;
};

}  // namespace klog::sources
