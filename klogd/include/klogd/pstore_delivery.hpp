#pragma once

#include <functional>
#include <string>
#include <vector>

#include "klog/incidents/incident.hpp"
#include "klog/pipeline.hpp"
#include "klog/sources/pstore_reader.hpp"
#include "klogd/config.hpp"

namespace klogd {

/// --pstore: the previous boot's kernel log, delivered to the outputs between notices, turned
/// into incidents of its own, and archived beside the state file once every output holds it (a
/// crash before that delivers it again, said so).
class pstore_delivery {
  public:
    using diag_fn = std::function<void(const std::string&)>;
    using report_fn = std::function<void(const klog::incidents::incident&)>;

    pstore_delivery(const config& cfg, diag_fn diag, report_fn report);

    /// Reads what pstore holds into `pipeline`; true when anything was delivered (the caller
    /// flushes the outputs).
    bool deliver(klog::pipeline& pipeline);
    /// Archives what was delivered, once every output of `pipeline` holds it.
    void archive(const klog::pipeline& pipeline);

  private:
    [[nodiscard]] std::string archive_dir() const;

    const config& cfg_;
    diag_fn diag_;
    report_fn report_;
    std::vector<klog::sources::pstore_reader::dump> unarchived_;
};

}  // namespace klogd
