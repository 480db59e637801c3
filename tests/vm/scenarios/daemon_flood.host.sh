# A flood larger than the kernel ring (128 KiB on this kernel) while the daemon is
# frozen (SIGSTOP, so its /dev/kmsg descriptor falls behind and gets EPIPE): every
# record is either delivered or counted in "klogd: missed N kernel messages": the
# delivered ones are the last ones written, contiguous, and delivered + missed =
# written.
# --metrics-file too: klogd_missed_records_total moves by exactly the reported gap.
KLOGD_EXTRA_ARGS="--metrics-file=/run/klogd.prom --metrics-interval=1"
source "$VM_SRC_DIR/scenarios/common/daemon.host.sh"
VM_TIMEOUT=240
FLOOD_N=3000
check() {
    expect_result "$KERNLOG" || return 1
    local first n missed
    seq_numbers "$KERNLOG" klogd-vm-flood > flood.got
    n=$(wc -l < flood.got)
    first=$(head -n 1 flood.got)
    missed=$(sed -nE 's/.*klogd: missed ([0-9]+) kernel messages.*/\1/p' "$KERNLOG" | awk '{s += $1} END {print s + 0}')
    note "flood of $FLOOD_N records: $n delivered (first $first), $missed reported missed"
    [ "$missed" -gt 0 ] || fail "no 'klogd: missed N kernel messages' line although $FLOOD_N records overran the ring"
    [ "$n" -gt 0 ] || { fail "no flood record delivered at all"; return 1; }
    seq "$first" "$FLOOD_N" > flood.want
    expect_same flood.want flood.got "delivered flood records (must be the contiguous tail, once each, in order)"
    [ $((n + missed)) -eq "$FLOOD_N" ] ||
        fail "delivered ($n) + reported missed ($missed) = $((n + missed)), written $FLOOD_N"
    expect_grep "$KERNLOG" 'klogd-vm-mark end' "daemon output (end marker after the flood)"
    expect_result metrics.before metrics.after || return 1
    local before after
    before=$(sed -n 's/^klogd_missed_records_total //p' metrics.before)
    after=$(sed -n 's/^klogd_missed_records_total //p' metrics.after)
    note "klogd_missed_records_total: $before before the flood, $after after"
    [ -n "$before" ] && [ -n "$after" ] && [ $((after - before)) -eq "$missed" ] ||
        fail "klogd_missed_records_total moved from '$before' to '$after', the reported gap is $missed"
}
