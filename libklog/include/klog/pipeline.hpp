#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "klog/incidents/incident_stage.hpp"
#include "klog/metrics/rule_set.hpp"
#include "klog/record_clock.hpp"
#include "klog/record_rewriter.hpp"
#include "klog/sinks/sink.hpp"
#include "klog/sources/record_handler.hpp"

namespace klog {

/// What the pipeline has seen, for `-d` and the exit summary.
struct pipeline_counters {
    std::uint64_t records = 0;         ///< delivered to the outputs
    std::uint64_t malformed = 0;       ///< did not parse; delivered as text
    std::uint64_t missed = 0;          ///< sequence numbers the ring lost before we read them
    std::uint64_t duplicates = 0;      ///< every output had them already: skipped
    std::uint64_t filtered = 0;        ///< below --min-level: read but not delivered
    std::uint64_t renumbered = 0;      ///< sequence numbers that went back or leapt: said
    std::uint64_t overruns = 0;        ///< EPIPE from /dev/kmsg
    std::uint64_t lost_too_large = 0;  ///< EINVAL from /dev/kmsg
    /// `records` by facility (0..23; 24: any higher, which only userspace writers make) and
    /// level, for metrics.
    std::array<std::array<std::uint64_t, 8>, 25> by_facility_level{};
};

/// The path every record takes after its source: for each output, the sequence check (records
/// it already has are skipped, a gap becomes one notice of klogd's own in front of the next
/// record), the level filter, rewriting (symbols), wall-clock time, then the output's
/// formatter and sink. Each record (with everything klogd writes for it) is one delivery
/// position; the outputs report how far they hold everything safely (their watermarks), which
/// is what the cursor saves. One failing output never stops the others; a full `block` output
/// makes `blocked()` true, and the reader stops until it has room again.
class pipeline final : public sources::record_handler {
  public:
    /// Where the pipeline reports its own trouble (an output that failed to reopen, errors that
    /// start or stop keeping records waiting): `-d` output.
    using diagnostics_fn = std::function<void(const std::string& message)>;

    explicit pipeline(std::vector<std::unique_ptr<sinks::sink>> outputs);

    void on_record(const record_view& record) override;
    void on_event(sources::source_event event) override;

    /// Some `block` output can take no more: do not read the kernel now.
    [[nodiscard]] bool blocked() const noexcept;
    /// Pushes out what the outputs hold (end of a batch). An output that starts or stops
    /// failing is reported once through the diagnostics.
    void flush();
    /// SIGHUP: every output reopens; one that fails is reported and keeps its old file.
    void reopen();
    void set_diagnostics(diagnostics_fn fn) { diagnostics_ = std::move(fn); }

    /// Rewrites record texts before formatting (symbol expansion); not owned, may be null.
    void set_rewriter(record_rewriter* rewriter) noexcept { rewriter_ = rewriter; }

    /// Every kernel record (after symbol expansion) also goes to this incident stage, records
    /// every output had already too (as read again); not owned, may be null.
    void set_incidents(incidents::incident_stage* stage) noexcept { incidents_ = stage; }
    /// Every record delivered (not one skipped as already delivered) is counted against these
    /// rules (`--rules`); not owned, may be null.
    void set_rules(metrics::rule_set* rules) noexcept { rules_ = rules; }
    /// Delivers an incident report: one record of klogd's own whose text is the summary and
    /// which carries the facts for record formats.
    void report_incident(const incidents::incident& incident);

    /// Deliver only records of `level` or more severe (`--min-level`); klogd's own notices
    /// always pass.
    void set_min_level(std::uint8_t level) noexcept { min_level_ = level; }

    /// Records read before we caught up (startup backlog, replay) are marked estimated.
    void set_estimated_times(bool estimated) noexcept { estimated_ = estimated; }
    [[nodiscard]] record_clock& clock() noexcept { return clock_; }
    /// Output `index` starts after a saved cursor (records up to `seq` are there already).
    void resume(std::size_t index, std::optional<std::uint64_t> seq);
    /// The source was (re)opened: a new reading, which starts again at the oldest record.
    void new_session() noexcept;
    /// Outputs whose saved cursor is past the newest record of this reading (a cursor that
    /// cannot be: every record would be skipped).
    [[nodiscard]] std::vector<std::size_t> ahead_of_kernel() const;
    /// The newest sequence number read in this reading of the source, if any.
    [[nodiscard]] std::optional<std::uint64_t> newest_read() const noexcept { return session_last_; }
    /// A jump of more sequence numbers than this within one reading is no count of lost
    /// records (at a million records a second a kernel needs over an hour to print 2^32).
    static constexpr std::uint64_t implausible_jump = 1ULL << 32;
    [[nodiscard]] const pipeline_counters& counters() const noexcept { return counters_; }
    [[nodiscard]] const std::vector<std::unique_ptr<sinks::sink>>& outputs() const noexcept {
        return outputs_;
    }

    /// Delivers a message of klogd's own (facility kern, level warning, no kernel time).
    void notice(std::string_view text, std::uint8_t level = 4);

  private:
    void count_delivered(const record_view& record) noexcept;
    /// klogd's own record at a new position of its own, to every output.
    void deliver_own(const record_view& own, const formatters::record_time& time,
                     std::uint8_t level);

    std::vector<std::unique_ptr<sinks::sink>> outputs_;
    std::optional<std::uint64_t> read_last_;     ///< the newest sequence number delivered
    std::optional<std::uint64_t> session_last_;  ///< the newest read in this reading
    std::uint64_t unnumbered_ = 0;  ///< records without a parsable header since the last one
    std::optional<std::uint64_t> said_leap_at_;  ///< a leap from here was said already
    /// Per output: it took the last numbered record (bytes: a std::vector<bool> cost a shift
    /// and a mask per access, in every record).
    std::vector<unsigned char> last_taken_;
    std::vector<sinks::record_meta> last_meta_;  ///< per output: where that record stands
    std::uint64_t position_ = 0;
    record_clock clock_;
    pipeline_counters counters_;
    bool estimated_ = false;
    std::uint8_t min_level_ = 7;
    record_rewriter* rewriter_ = nullptr;
    incidents::incident_stage* incidents_ = nullptr;
    metrics::rule_set* rules_ = nullptr;
    bool closing_ = false;  ///< the incident stage is being fed the record just delivered
    std::string rewritten_;
    record_view changed_;  ///< the record with rewritten_ as its text (on_record)
    std::string notice_text_;
    diagnostics_fn diagnostics_;
    std::vector<std::error_code> output_errors_;  ///< last error reported, per output
};

}  // namespace klog
