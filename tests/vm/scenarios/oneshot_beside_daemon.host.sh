# klogd -o while the inittab daemon runs: the one-shot run reads the ring
# non-destructively and leaves the daemon and its pid file alone (klogd 1.5's -o
# deleted the running daemon's pid file); the daemon keeps delivering.
source "$VM_SRC_DIR/scenarios/common/daemon.host.sh"
check() {
    expect_rc oneshot 0
    expect_result pidfile_before pidfile_after alive oneshot_lines || return 1
    expect_same pidfile_before pidfile_after "the daemon's pid file across klogd -o"
    [ "$(cat alive)" = yes ] || fail "the daemon died during klogd -o"
    [ "$(cat oneshot_lines)" = 1 ] || fail "klogd -o wrote the marker $(cat oneshot_lines) times to its file, expected 1"
    expect_grep "$KERNLOG" 'klogd-vm-mark after' "daemon output (delivery after klogd -o)"
    [ "$(grep -c 'klogd-vm-mark ready' "$KERNLOG")" = 1 ] || fail "the daemon delivered the 'ready' marker more than once"
}
