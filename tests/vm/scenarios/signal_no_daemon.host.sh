# klogd -i / -I with no daemon running (no pid file, or a stale one): a clear error,
# exit status 1, and nobody else signalled (klogd 1.5 signalled its own process group).
VM_NEEDS_KLOGD=1
check() {
    local r
    for r in no_pidfile stale_pidfile no_pidfile_I; do
        expect_rc "$r" 1
        [ -s "$r.err" ] || fail "klogd ($r) exited without saying why on stderr"
        [ ! -f "$r.signalled" ] || fail "klogd ($r) signalled its caller's process group: $(tr '\n' ' ' < "$r.signalled")"
    done
}
