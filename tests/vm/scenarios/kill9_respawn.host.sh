# kill -9 of the daemon, three times; busybox init respawns it each time and the
# state file (cursor) makes the new one continue where the old one stopped: every
# record delivered. Duplicates (a record delivered but its cursor not yet saved when
# the daemon was killed) are reported but not failed.
source "$VM_SRC_DIR/scenarios/common/daemon.host.sh"
check() {
    expect_result "$KERNLOG" pids || return 1
    [ "$(sort -u pids | wc -l)" -eq 4 ] || fail "expected 4 different daemon pids (3 respawns), got: $(tr '\n' ' ' < pids)"
    seq_numbers "$KERNLOG" klogd-vm-k9 > k9.got
    local missing dups
    missing=$(comm -23 <(seq 1 250 | sort) <(sort -u k9.got) | sort -n | head -n 20 | tr '\n' ' ')
    [ -z "$missing" ] || fail "records lost across kill -9 / respawn: klogd-vm-k9 $missing"
    dups=$(sort -n k9.got | uniq -d | wc -l)
    [ "$dups" -eq 0 ] || note "$dups record(s) delivered twice across kill -9 (allowed)"
    [ "$(grep -c "Linux version $VM_KERNEL_ABI " "$KERNLOG")" -eq 1 ] ||
        fail "the boot log was delivered $(grep -c "Linux version $VM_KERNEL_ABI " "$KERNLOG") times (the cursor should skip it after a respawn)"
    expect_no_grep "$KERNLOG" 'missed [0-9]+ kernel messages' "daemon output (nothing may be lost here)"
}
