#pragma once

#include <functional>
#include <string>
#include <vector>

#include "klog/cursor_file.hpp"
#include "klog/pipeline.hpp"

namespace klogd {

/// The saved cursor (--state-file; /dev/kmsg only): where each output stands. At the start each
/// output resumes after what it holds (a file cut back to its saved position after a kill, a
/// spool's records kept or given up); after every batch, and at the stop, it is saved.
class delivery_cursor {
  public:
    using diag_fn = std::function<void(const std::string&)>;

    /// `output_keys`: the state file's name of each output of the pipeline, in its order.
    delivery_cursor(std::string state_file, std::string boot_id,
                    std::vector<std::string> output_keys, diag_fn diag);

    /// Loads the saved cursor and tells each output of `pipeline` where it resumes. A cursor
    /// of another boot, or none, gives every output the whole ring.
    void resume(klog::pipeline& pipeline);
    /// Saves where every output stands (`durable`: fsync; `clean`: at a clean stop). A failure
    /// is said once on standard error: after a restart, records may be delivered again.
    void save(klog::pipeline& pipeline, bool durable, bool clean);

  private:
    std::string state_file_;
    std::string boot_id_;
    std::vector<std::string> keys_;
    diag_fn diag_;
    klog::cursor_file file_;
    bool error_said_ = false;
};

}  // namespace klogd
