#pragma once

#include <string>

#include "klog/record_view.hpp"

namespace klog {

/// A stage that may rewrite a record's text before it is formatted (symbol expansion).
class record_rewriter {
  public:
    virtual ~record_rewriter() = default;
    /// Writes the new text of `record` into `out` (a reused buffer) and returns true, or
    /// returns false to keep the record as it is.
    virtual bool rewrite(const record_view& record, std::string& out) = 0;
    /// Deliver the record as the kernel printed it before each rewritten one (`-2`).
    [[nodiscard]] virtual bool keep_original() const noexcept = 0;
};

}  // namespace klog
