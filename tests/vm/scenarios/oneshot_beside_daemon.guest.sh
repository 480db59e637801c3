# Guest part of "oneshot_beside_daemon" (see oneshot_beside_daemon.host.sh).
. /vm/common/daemon.guest.sh
pid=$(daemon_pid)
mark ready
result_file pidfile_before "$KLOGD_PIDFILE"
result oneshot timeout 60 /sbin/klogd -o -f /tmp/oneshot.log --format=raw
result_file pidfile_after "$KLOGD_PIDFILE"
result_text alive "$(kill -0 "$pid" 2>/dev/null && echo yes || echo no)"
mark after
result_text oneshot_lines "$(grep -c 'klogd-vm-mark ready' /tmp/oneshot.log)"
