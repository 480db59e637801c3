#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace klog::incidents {

/// What kind of kernel trouble a block of records reports (DESIGN.md "Incidents").
enum class incident_kind {
    oops,         ///< page fault / NULL dereference / general protection fault (`Oops:`)
    bug,          ///< `kernel BUG at`, other `BUG:` reports (scheduling while atomic, KASAN, ...)
    warning,      ///< `WARNING:` (`[ cut here ]` ... `---[ end trace`)
    panic,        ///< `Kernel panic - not syncing:`
    hung_task,    ///< `INFO: task X:PID blocked for more than N seconds.`
    soft_lockup,  ///< `watchdog: BUG: soft lockup - CPU#N stuck for Ns!`
    hard_lockup,  ///< `Watchdog detected hard LOCKUP on cpu N`
    rcu_stall,    ///< `rcu: INFO: rcu_sched detected stalls` / `self-detected stall`
    oom_kill,     ///< `X invoked oom-killer:` ... `Killed process PID (comm)`
};

inline constexpr int incident_kind_count = 9;

/// `oops`, `bug`, `warning`, `panic`, `hung_task`, `soft_lockup`, `hard_lockup`, `rcu_stall`,
/// `oom_kill`: the names every output and metric uses.
[[nodiscard]] std::string_view kind_name(incident_kind kind) noexcept;

/// One call trace frame: `func+0x18/0x1000 [mod]`, or a bare address the kernel could not name.
struct frame {
    std::string function;  ///< without offset and size; empty for a bare address
    std::string module;    ///< empty for the core kernel
    std::string address;   ///< `ffffffffc059e000` when the line held one, else empty
    bool reliable = true;  ///< false for `?` frames
};

/// Why the block was closed.
enum class close_reason {
    end,    ///< its end line (`---[ end trace`, `Killed process`, `</TASK>`)
    next,   ///< the next incident of the same source started
    lines,  ///< too many records without an end
    time,   ///< too long without an end, or nothing more came
    input,  ///< the input ended (klogd stopping, the end of a replay or a pstore file)
};

[[nodiscard]] std::string_view close_reason_name(close_reason reason) noexcept;

/// One kernel incident: the facts of one block of records, as DESIGN.md "Incidents" lists them.
/// Every string holds kernel bytes as they were (cut to a bound); formatters escape them.
struct incident {
    incident_kind kind = incident_kind::oops;
    bool partial = false;   ///< records inside the block were lost: facts may be missing
    bool pstore = false;    ///< from the previous boot, read from pstore
    close_reason closed_by = close_reason::end;
    std::optional<std::uint64_t> first_seq;
    std::optional<std::uint64_t> last_seq;
    std::optional<std::uint64_t> ts_usec;  ///< kernel time of the first record
    std::uint64_t records = 0;             ///< records of the block (interleaved ones included)
    std::string title;                     ///< the first line (`BUG: kernel NULL pointer ...`)
    std::string detail;                    ///< `Oops: 0002 [#1] PREEMPT SMP NOPTI`, the panic reason, ...
    std::optional<std::uint32_t> cpu;
    std::optional<std::uint32_t> pid;
    std::string comm;
    std::optional<std::string> taint;  ///< `OE` (letters of `Tainted:` without `G`); "" = not tainted
    std::vector<std::string> modules;  ///< `Modules linked in:`
    std::string function;              ///< faulting function (RIP / pc / PC is at / WARNING at)
    std::string module;                ///< its module, empty for the core kernel
    std::string location;              ///< `drivers/foo.c:123` (WARNING at, kernel BUG at)
    std::vector<frame> frames;         ///< the call trace, innermost first
    std::string kernel_offset;         ///< `0x3000000 from 0xffffffff81000000 ...` / `disabled`
    std::optional<std::uint32_t> victim_pid;  ///< oom_kill: the killed process
    std::string victim_comm;
    std::optional<std::uint32_t> blocked_seconds;  ///< hung_task
    std::string signature;  ///< kind and the first reliable frames, normalised
    std::uint64_t count = 1;  ///< times this signature was seen this boot (this one included)
    bool repeat = false;      ///< a repeat that is counted, not reported in full

    /// One line for line formats: `incident oops: BUG: ... in klogd_test_crash [klogd_test_mod]
    /// (CPU 0 PID 95 insmod, tainted OE, seq 120..170, count 1)`, without `klogd: `.
    [[nodiscard]] std::string summary() const;
    /// Appends the incident as one JSON object (no newline).
    void append_json(std::string& out) const;
};

}  // namespace klog::incidents
