#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "klog/incidents/incident.hpp"

namespace klog::incidents {

/// What a line that matches a pattern does to the incident blocks.
enum class line_role : std::uint8_t {
    start,  ///< begins a block of `kind`
    /// belongs to an open block of `kind` or `joins` that has no call trace yet (the `Oops:` line
    /// after `BUG: kernel NULL pointer dereference`); with none open it begins a block of `kind`
    join,
    /// names an open `[ cut here ]` block (`WARNING: ...`, `kernel BUG at ...`, which sets its
    /// kind); with none waiting for its name it begins a block of `kind`
    title,
    end,  ///< ends the newest open block whose kind is in `joins`
};

/// A set of kinds, one bit each.
using kind_set = std::uint16_t;
[[nodiscard]] constexpr kind_set kinds_of(incident_kind k) noexcept {
    return static_cast<kind_set>(1U << static_cast<unsigned>(k));
}
template <typename... K>
[[nodiscard]] constexpr kind_set kinds_of(incident_kind k, K... more) noexcept {
    return static_cast<kind_set>(kinds_of(k) | kinds_of(more...));
}

/// One kernel wording. A line matches when it starts with `needle` (`prefix`) or holds it
/// anywhere (`!prefix`), and holds `also` too when that is not empty. An empty needle stands
/// for the shape of an x86 die() header: lower-case words, `: `, four hex digits, ` [#`. Leading blanks of the line
/// are ignored for prefixes. `wording` cites where the text comes from.
struct line_pattern {
    line_role role;
    incident_kind kind;
    bool prefix;
    std::string_view needle;
    std::string_view also;
    kind_set joins;  ///< join: the open kinds it belongs to; end: the kinds it ends
    std::string_view wording;
};

/// The table, first match wins (so `BUG: soft lockup` comes before `BUG: `). The golden tests in
/// tests/unit/incidents hold a real text for every line.
inline constexpr std::array<line_pattern, 23> line_patterns{{
    // kernel/panic.c panic(): "Kernel panic - not syncing: %s" (first: its reason may quote
    // another kind, "Watchdog detected hard LOCKUP on cpu 0", "softlockup: hung tasks")
    {line_role::start, incident_kind::panic, true, "Kernel panic - not syncing", {}, 0,
     "Kernel panic - not syncing: Fatal exception"},
    // kernel/watchdog.c watchdog_timer_fn (4.14+: "watchdog: BUG: soft lockup - CPU#%d stuck for
    // %us! [%s:%d]"; 4.4: "NMI watchdog: BUG: soft lockup - ...")
    {line_role::start, incident_kind::soft_lockup, false, "BUG: soft lockup - CPU#", {}, 0,
     "watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [kworker/0:1:19]"},
    // kernel/watchdog_hld.c / watchdog_buddy.c: "Watchdog detected hard LOCKUP on cpu %d"
    {line_role::start, incident_kind::hard_lockup, false, "Watchdog detected hard LOCKUP on cpu",
     {}, 0, "NMI watchdog: Watchdog detected hard LOCKUP on cpu 1"},
    // kernel/hung_task.c check_hung_task (3.x .. 6.x)
    {line_role::start, incident_kind::hung_task, true, "INFO: task ", " blocked for more than ", 0,
     "INFO: task khungtaskd:23 blocked for more than 120 seconds."},
    // kernel/rcu/tree_stall.h print_other_cpu_stall / print_cpu_stall / exp stalls
    {line_role::start, incident_kind::rcu_stall, false, " detected stalls on CPUs/tasks", {}, 0,
     "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:"},
    {line_role::start, incident_kind::rcu_stall, false, " self-detected stall on CPU", {}, 0,
     "rcu: INFO: rcu_sched self-detected stall on CPU"},
    {line_role::start, incident_kind::rcu_stall, false, " detected expedited stalls on CPUs/tasks",
     {}, 0, "rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: {"},
    // mm/oom_kill.c dump_header: "%s invoked oom-killer: gfp_mask=%#x(%pGg), order=%d, ..."
    {line_role::start, incident_kind::oom_kill, false, " invoked oom-killer: ", {}, 0,
     "stress invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, "
     "oom_score_adj=0"},
    // mm/oom_kill.c __oom_kill_process: 5.1+ "Out of memory: Killed process %d (%s) total-vm:";
    // 4.x "Killed process %d (%s) total-vm:"; memcg: "Memory cgroup out of memory: Killed ..."
    {line_role::end, incident_kind::oom_kill, false, "Killed process ", {},
     kinds_of(incident_kind::oom_kill),
     "Out of memory: Killed process 97 (hog) total-vm:1054280kB, anon-rss:451072kB, ..."},
    {line_role::end, incident_kind::panic, true, "---[ end Kernel panic - not syncing", {},
     kinds_of(incident_kind::panic), "---[ end Kernel panic - not syncing: Fatal exception ]---"},
    // arch/x86/kernel/dumpstack.c __die_header: "Oops: %04lx [#%d]%s%s%s%s%s" (6.9+: "Oops: %s: %04lx")
    {line_role::join, incident_kind::oops, true, "Oops: ", {},
     kinds_of(incident_kind::oops, incident_kind::bug), "Oops: 0002 [#1] PREEMPT SMP NOPTI"},
    // arch/x86/kernel/traps.c: before 6.9 "general protection fault, probably for non-canonical
    // address 0x...: 0000 [#1] SMP" (5.x), "general protection fault: 0000 [#1] SMP" (4.x)
    {line_role::join, incident_kind::oops, true, "general protection fault", {},
     kinds_of(incident_kind::oops, incident_kind::bug),
     "general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP PTI"},
    // arch/arm64/kernel/traps.c die(): "Internal error: %s: %016lx [#%d]" (arm: "Internal error: %s: %x [#%d]")
    {line_role::join, incident_kind::oops, true, "Internal error: ", {},
     kinds_of(incident_kind::oops, incident_kind::bug),
     "Internal error: Oops: 0000000096000045 [#1] PREEMPT SMP"},
    // x86 BUG() traps as an invalid opcode before 6.9: "invalid opcode: 0000 [#1] SMP PTI"
    {line_role::join, incident_kind::bug, true, "invalid opcode: ", {},
     kinds_of(incident_kind::bug, incident_kind::oops), "invalid opcode: 0000 [#1] PREEMPT SMP NOPTI"},
    // arch/x86/kernel/dumpstack.c __die_header for every other trap: "stack segment: 0000 [#1]
    // PREEMPT SMP KASAN PTI", "double fault: 0000 [#1] SMP", "divide error: 0000 [#1] SMP"
    // (`die_header`: lower-case words, ": ", four hex digits, " [#")
    {line_role::join, incident_kind::oops, true, "", " [#",
     kinds_of(incident_kind::oops, incident_kind::bug), "stack segment: 0000 [#1] PREEMPT SMP KASAN PTI"},
    // arch/x86/mm/fault.c show_fault_oops: 5.2+ "BUG: kernel NULL pointer dereference, address: %px",
    // "BUG: unable to handle page fault for address: %px"; 4.x "BUG: unable to handle kernel
    // NULL pointer dereference at %px" / "... kernel paging request at %px"
    {line_role::start, incident_kind::oops, true, "BUG: kernel NULL pointer dereference", {}, 0,
     "BUG: kernel NULL pointer dereference, address: 0000000000000000"},
    {line_role::start, incident_kind::oops, true, "BUG: unable to handle ", {}, 0,
     "BUG: unable to handle page fault for address: ffffc90000a3b000"},
    // arch/arm64/mm/fault.c die_kernel_fault: "Unable to handle kernel %s at virtual address %016lx"
    {line_role::start, incident_kind::oops, true, "Unable to handle kernel ", {}, 0,
     "Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000"},
    // lib/bug.c report_bug: "kernel BUG at %s:%u!" (after "[ cut here ]")
    {line_role::title, incident_kind::bug, true, "kernel BUG at ", {},
     kinds_of(incident_kind::warning), "kernel BUG at mm/slub.c:4235!"},
    // include/asm-generic/bug.h CUT_HERE, printed before WARN and BUG reports
    {line_role::start, incident_kind::warning, true, "------------[ cut here ]------------", {}, 0,
     "------------[ cut here ]------------"},
    // kernel/panic.c __warn: "WARNING: CPU: %d PID: %d at %pS" (4.x+, "at %s:%d %pS");
    // lockdep and others: "WARNING: possible circular locking dependency detected"
    {line_role::title, incident_kind::warning, true, "WARNING: ", {},
     kinds_of(incident_kind::warning),
     "WARNING: CPU: 0 PID: 95 at drivers/net/foo.c:123 foo_xmit+0x1a/0x30 [foo]"},
    // every other "BUG: " report: scheduling while atomic, sleeping function called from invalid
    // context, KASAN, workqueue lockup, Bad page state, spinlock ...
    {line_role::start, incident_kind::bug, true, "BUG: ", {}, 0,
     "BUG: scheduling while atomic: swapper/0/0/0x00000002"},
    // lib/bug.c / kernel/panic.c end_report: "---[ end trace %016llx ]---" (4.x: "---[ end trace
    // 3b7e6b3fdf2d4c5a ]---")
    {line_role::end, incident_kind::warning, true, "---[ end trace", {},
     kinds_of(incident_kind::oops, incident_kind::bug, incident_kind::warning,
              incident_kind::soft_lockup, incident_kind::hard_lockup),
     "---[ end trace 0000000000000000 ]---"},
}};

}  // namespace klog::incidents
