# kill -9 of the inittab daemon five times during a flood of /dev/kmsg writes, with two
# outputs: the file and a tcp collector in the guest (busybox nc, started after the second
# kill, so the first records wait in the spool). Every record is in the file exactly once —
# or, only where the kernel ring itself overran, inside a "missed" notice — and every record in
# the file reached the collector at least once (duplicates after a kill are allowed and
# reported).
KLOGD_EXTRA_ARGS="--output=tcp://127.0.0.1:5140"
source "$VM_SRC_DIR/scenarios/common/daemon.host.sh"
VM_TIMEOUT=280
FLOOD_N=2000

# octet_frames FILE...: the messages of the RFC 6587 octet-counted frames in FILEs (a frame cut
# off at the end of a connection is left out), one per line.
octet_frames() {
    local f
    for f in "$@"; do
        LC_ALL=C awk 'BEGIN { RS = "\001" } {
            s = $0
            while (match(s, /^[0-9]+ /)) {
                n = substr(s, 1, RLENGTH - 1) + 0
                if (length(s) - RLENGTH < n) break
                print substr(s, RLENGTH + 1, n)
                s = substr(s, RLENGTH + 1 + n)
            }
        }' "$f"
    done
}

check() {
    expect_result "$KERNLOG" pids || return 1
    [ "$(sort -u pids | wc -l)" -eq 6 ] || fail "expected 6 different daemon pids (5 respawns), got: $(tr '\n' ' ' < pids)"
    seq_numbers "$KERNLOG" klogd-vm-k9f > k9f.got
    local n dups missed
    n=$(wc -l < k9f.got)
    dups=$(sort -n k9f.got | uniq -d | wc -l)
    missed=$(sed -nE 's/.*klogd: missed ([0-9]+) kernel messages.*/\1/p' "$KERNLOG" | awk '{s += $1} END {print s + 0}')
    [ "$dups" -eq 0 ] || fail "$dups record(s) twice in the file across kill -9 (must be exactly once)"
    sort -n -c k9f.got 2>/dev/null || fail "file records out of order: $(sort -n -c k9f.got 2>&1 | head -n 1)"
    [ $((n + missed)) -eq "$FLOOD_N" ] ||
        fail "file: $n delivered + $missed reported missed = $((n + missed)), written $FLOOD_N"
    local conns
    conns=$(ls collector.* 2>/dev/null | grep -v '\.err$\|\.rc$' || true)
    [ -n "$conns" ] || { fail "no collector connection came back from the guest"; return 1; }
    # shellcheck disable=SC2086
    octet_frames $conns | sed -nE 's/.*klogd-vm-k9f ([0-9]+)$/\1/p' > k9f.collector
    local absent cdups
    absent=$(comm -23 <(sort -u k9f.got) <(sort -u k9f.collector) | sort -n | head -n 20 | tr '\n' ' ')
    [ -z "$absent" ] || fail "records in the file but never at the collector: klogd-vm-k9f $absent"
    cdups=$(sort -n k9f.collector | uniq -d | wc -l)
    note "flood of $FLOOD_N with 5 x kill -9: file $n once each, $missed missed by the ring; collector $(sort -u k9f.collector | wc -l) records over $(echo $conns | wc -w) connections, $cdups duplicated (allowed)"
    expect_grep "$KERNLOG" 'klogd-vm-mark end' "daemon output (end marker after the flood)"
}
