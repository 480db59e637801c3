#!/bin/bash
# Runs a real systemd-journald for one test, apart from the system's journal, sends it the
# records of a saved log through `klogd -o --output=journal:...`, and prints what it stored
# (journalctl -o export).
#   env: NS (a journal namespace name of the test's own), DIR (the test's directory, holding
#        saved.kmsg), KLOGD (the binary), COUNT (records expected)
# Apart from the system's: in a private mount namespace with tmpfs on /run/systemd, /run/log
# and /var/log/journal. In a chroot (make test in a fresh Debian chroot) no mount namespace can
# be made private (its / is no mount point); there /run and /var/log are the chroot's own (the
# namespace's directories are removed afterwards), and only /sys, a mount point there, is made
# private, for the cgroup file system journald needs.
set -eu

inner() {
    if [ "${ISOLATED:-0}" = 1 ]; then
        mkdir -p /run/systemd /run/log /var/log/journal
        mount -t tmpfs tmpfs /run/systemd
        mount -t tmpfs tmpfs /run/log
        mount -t tmpfs tmpfs /var/log/journal
    else
        trap 'rm -rf /run/systemd/journal."$NS" /run/log/journal/*."$NS" /var/log/journal/*."$NS"' EXIT
    fi
    # journald needs a machine id.
    if [ ! -s /etc/machine-id ]; then
        if [ "${ISOLATED:-0}" = 1 ]; then
            tr -d - </proc/sys/kernel/random/uuid >"$DIR/machine-id"
            mount --bind "$DIR/machine-id" /etc/machine-id
        else
            systemd-machine-id-setup >/dev/null  # the chroot's own /etc
        fi
    fi
    /lib/systemd/systemd-journald "$NS" >"$DIR/journald.log" 2>&1 &
    local jd=$!
    local socket=/run/systemd/journal."$NS"/socket
    for _ in $(seq 1 100); do [ -S "$socket" ] && break; sleep 0.1; done
    if [ ! -S "$socket" ]; then
        echo "journald did not start:" >&2
        cat "$DIR/journald.log" >&2
        kill "$jd" 2>/dev/null || true
        exit 3
    fi
    local status=0
    "$KLOGD" -o -x --source="$DIR/saved.kmsg" --output=journal:"$socket" --state-file=none \
        --pidfile="$DIR/pid" 2>"$DIR/klogd.err" || status=$?
    echo "klogd exit $status" >&2
    if ! kill -0 "$jd" 2>/dev/null; then
        echo "journald stopped:" >&2
        cat "$DIR/journald.log" >&2
        exit 3
    fi
    for _ in $(seq 1 100); do
        n=$(journalctl --namespace="$NS" -o export --no-pager _TRANSPORT=journal 2>/dev/null |
            grep -ac '^KERNEL_SEQNUM=' || true)
        [ "$n" -ge "$COUNT" ] && break
        sleep 0.1
    done
    journalctl --namespace="$NS" -o export --no-pager _TRANSPORT=journal
    kill "$jd"
    wait "$jd" || true
}

case "${1:-}" in
    inner)
        inner
        exit ;;
    chroot-inner)
        # The chroot's /sys is a bind mount (a mount point): private in this namespace, so the
        # cgroup file system journald needs can be mounted there without reaching the system.
        mount --make-rprivate /sys
        if [ ! -e /sys/fs/cgroup/cgroup.controllers ] && [ ! -d /sys/fs/cgroup/systemd ]; then
            mount -t cgroup2 cgroup2 /sys/fs/cgroup
        fi
        ISOLATED=0 inner
        exit ;;
esac
if unshare --mount --propagation private true 2>/dev/null; then
    ISOLATED=1 exec unshare --mount --propagation private "$0" inner
fi
# No private mount namespace: only where / is not the root of the mount namespace (a chroot).
if [ "$(stat -c %d:%i /)" = "$(stat -c %d:%i /proc/1/root/. 2>/dev/null || echo none)" ]; then
    echo "cannot make a private mount namespace outside a chroot: not touching the system's journal" >&2
    exit 4
fi
exec unshare --mount --propagation unchanged "$0" chroot-inner
