#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "klog/incidents/incident.hpp"
#include "klog/record_view.hpp"

namespace klog::incidents {

/// What the stage has seen, for `-d` and metrics.
struct incident_counters {
    std::uint64_t by_kind[incident_kind_count] = {};  ///< incidents closed, repeats included
    std::int64_t last_unix_usec[incident_kind_count] = {};  ///< when the last of a kind closed
    std::uint64_t reported = 0;    ///< given to the report function in full
    std::uint64_t repeats = 0;     ///< given as a repeat (counted, not in full)
    std::uint64_t suppressed = 0;  ///< repeats above the rate: only counted
    std::uint64_t partial = 0;     ///< blocks cut by lost records
};

/// Groups the kernel's trouble reports into incidents (DESIGN.md "Incidents"). Fed every record
/// after symbol expansion, in order; never holds the source back: it keeps only the facts of
/// the blocks that are open (bounded), not their records. The wordings are data
/// (incident_patterns.hpp); this class only tracks blocks:
///  - a line matching a start pattern opens a block; records from userspace, klogd's own and
///    (with the kernel's caller ids) from other tasks and CPUs do not break it;
///  - an end line closes it, and so does the next block of the same kind, a bound on records
///    and on time, or the end of the input;
///  - a sequence gap inside a block makes it `partial`;
///  - on close the signature is counted; the first of a signature is reported in full, later
///    ones as repeats, at most one a minute per signature (the rest only counted).
class incident_stage {
  public:
    using report_fn = std::function<void(const incident&)>;
    using clock = std::chrono::steady_clock;
    using clock_fn = std::function<clock::time_point()>;

    struct limits {
        std::size_t max_records = 600;        ///< records in one block (oom_kill: ×40)
        std::chrono::seconds max_span{60};    ///< kernel time from the first record
        std::chrono::seconds idle{5};         ///< nothing for the block came for this long
        std::size_t max_open = 4;             ///< blocks open at once
        std::size_t max_frames = 64;
        std::size_t max_modules = 512;
        std::size_t max_text = 256;           ///< bytes kept of a title or detail
        std::chrono::seconds repeat_interval{60};     ///< repeat reports per signature
        std::chrono::seconds full_interval{3600};     ///< a signature in full again after this
        std::size_t max_signatures = 4096;
    };

    explicit incident_stage(report_fn report);
    incident_stage(report_fn report, limits lim, clock_fn now = {});

    /// Incidents from this stage are the previous boot's (pstore).
    void set_pstore(bool pstore) noexcept { pstore_ = pstore; }

    /// One record. `already_delivered`: read again after a restart (every output had it): it
    /// still counts for the blocks and signatures, but an incident it closes was reported before.
    void feed(const record_view& record, bool already_delivered = false);
    /// Records were lost (an overrun the sequence numbers do not show): open blocks are partial.
    void lost() noexcept;
    /// Closes blocks that waited too long for more; call about once a second while `busy()`.
    void expire();
    /// The input ended: closes every block, and reports repeats that were only counted.
    void finish();
    /// Blocks are open or repeats wait to be reported.
    [[nodiscard]] bool busy() const noexcept;

    [[nodiscard]] const incident_counters& counters() const noexcept { return counters_; }

  private:
    struct block {
        incident facts;
        std::string caller;            ///< the kernel's caller id of its first line, if any
        clock::time_point last_line;   ///< when a line of it last came
        bool in_trace = false;         ///< after `Call Trace:`
        bool awaiting_title = false;   ///< `[ cut here ]` seen, its WARNING/BUG line not yet
        bool expects_end_trace = false;  ///< a die()/WARN report: `</TASK>` does not end it
        /// its first line (or, once ended, its end line) was read before a restart
        bool delivered = true;
        std::size_t bound = 0;         ///< max records
        std::size_t seen = 0;          ///< kernel records since it opened (any)
        std::uint64_t id = 0;
        std::optional<std::uint64_t> companion;  ///< a panic: the open report that caused it
    };
    struct signature_entry {
        std::uint64_t count = 0;
        std::uint64_t unreported = 0;  ///< repeats only counted since the last report
        std::optional<clock::time_point> last_full;
        std::optional<clock::time_point> last_report;
        incident last;                 ///< for the repeat summary at the end
    };

    void line(std::string_view text, const record_view& record, bool already_delivered,
              bool first_line);
    block* owner(const record_view& record);
    block& open_block(incident_kind kind, std::string_view text, const record_view& record,
                      bool already_delivered);
    void close(std::list<block>::iterator it, close_reason why);
    block* companion_of(const block& b);
    void parse_fields(block& b, std::string_view text);
    void emit(incident& facts, bool already_delivered);
    /// The injected clock, else the monotonic clock at its coarse resolution (a few ms; the
    /// limits are seconds): it is read for every line of an open block.
    [[nodiscard]] clock::time_point now() const;

    report_fn report_;
    limits limits_;
    clock_fn now_;
    bool pstore_ = false;
    std::list<block> open_;  ///< oldest first
    std::optional<std::uint64_t> last_seq_;
    std::uint64_t next_id_ = 0;
    std::unordered_map<std::string, signature_entry> signatures_;
    incident_counters counters_;
};

/// Parsing of the lines inside a block: exposed for the tests.
namespace parse {
/// `func+0x38/0x44 [mod]` anywhere in `text` (the first such token): function and module.
[[nodiscard]] std::optional<frame> symbol_token(std::string_view text);
/// A call trace line (`  ? func+0x1/0x2 [mod]`, `[<ffffffff81000000>] func+0x1/0x2`,
/// ` ? 0xffffffffc059e000`, arm `[<c0>] (func+0x1/0x2) from [<c1>] (...)`).
[[nodiscard]] std::optional<frame> frame_line(std::string_view text);
/// `Tainted: G           OE      6.1.0` → `OE`; `Not tainted` → "".
[[nodiscard]] std::optional<std::string> taint(std::string_view text);
/// `func.isra.0` → `func` (compiler suffixes), for signatures.
[[nodiscard]] std::string_view base_function(std::string_view function);
}  // namespace parse

}  // namespace klog::incidents
