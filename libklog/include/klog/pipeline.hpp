#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "klog/output.hpp"
#include "klog/record_clock.hpp"
#include "klog/record_rewriter.hpp"
#include "klog/sequence_tracker.hpp"
#include "klog/sources/record_handler.hpp"

namespace klog {

/// What the pipeline has seen, for `-d` and the exit summary.
struct pipeline_counters {
    std::uint64_t records = 0;         ///< delivered to the outputs
    std::uint64_t malformed = 0;       ///< did not parse; delivered as text
    std::uint64_t missed = 0;          ///< sequence numbers the ring lost before we read them
    std::uint64_t duplicates = 0;      ///< already delivered (sequence not forward): skipped
    std::uint64_t filtered = 0;        ///< below --min-level: read but not delivered
    std::uint64_t overruns = 0;        ///< EPIPE from /dev/kmsg
    std::uint64_t lost_too_large = 0;  ///< EINVAL from /dev/kmsg
};

/// The path every record takes after its source: sequence check (gaps become a record of our
/// own, duplicates are skipped), level filter, rewriting (symbols), wall-clock time, then each
/// output's formatter and sink. One failing output never stops the others.
class pipeline final : public sources::record_handler {
  public:
    /// Where the pipeline reports its own trouble (a sink that failed to reopen): `-d` output.
    using diagnostics_fn = std::function<void(const std::string& message)>;

    explicit pipeline(std::vector<output> outputs);

    void on_record(const record_view& record) override;
    void on_event(sources::source_event event) override;

    /// Writes out everything the sinks hold (end of a batch, shutdown). An output that starts
    /// or stops failing is reported once through the diagnostics.
    void flush();
    /// Some output holds bytes it could not write yet (retry later; do not advance a cursor).
    [[nodiscard]] bool has_pending() const noexcept;
    /// SIGHUP: every sink reopens; one that fails is reported and keeps its old file.
    void reopen();
    void set_diagnostics(diagnostics_fn fn) { diagnostics_ = std::move(fn); }

    /// Rewrites record texts before formatting (symbol expansion); not owned, may be null.
    void set_rewriter(record_rewriter* rewriter) noexcept { rewriter_ = rewriter; }

    /// Deliver only records of `level` or more severe (`--min-level`); klogd's own notices
    /// always pass.
    void set_min_level(std::uint8_t level) noexcept { min_level_ = level; }

    /// Records read before we caught up (startup backlog, replay) are marked estimated.
    void set_estimated_times(bool estimated) noexcept { estimated_ = estimated; }
    [[nodiscard]] record_clock& clock() noexcept { return clock_; }
    /// Start after a saved cursor (`last_delivered`).
    void resume_after(std::uint64_t last_delivered) noexcept {
        tracker_ = sequence_tracker(last_delivered);
    }
    [[nodiscard]] std::optional<std::uint64_t> last_seq() const noexcept { return tracker_.last(); }
    [[nodiscard]] const pipeline_counters& counters() const noexcept { return counters_; }
    [[nodiscard]] const std::vector<output>& outputs() const noexcept { return outputs_; }

    /// Delivers a message of klogd's own (facility kern, level warning, no kernel time).
    void notice(std::string_view text, std::uint8_t level = 4);

  private:
    void deliver(const record_view& record);

    std::vector<output> outputs_;
    sequence_tracker tracker_;
    record_clock clock_;
    pipeline_counters counters_;
    bool estimated_ = false;
    std::uint8_t min_level_ = 7;
    record_rewriter* rewriter_ = nullptr;
    std::string buffer_;
    std::string rewritten_;
    std::string notice_text_;
    diagnostics_fn diagnostics_;
    std::vector<std::error_code> output_errors_;  ///< last error reported, per output
};

}  // namespace klog
