# Guest part of "kill9_respawn" (see kill9_respawn.host.sh).
. /vm/common/daemon.guest.sh
pid=$(daemon_pid)
echo "$pid" > /tmp/pids
mark ready
n=0
for round in 1 2 3; do
    write_seq klogd-vm-k9 $((n + 1)) $((n + 50))
    n=$((n + 50))
    kill -9 "$pid"
    new_daemon() { p=$(cat "$KLOGD_PIDFILE" 2>/dev/null) && [ "$p" != "$pid" ] && kill -0 "$p" 2>/dev/null; }
    wait_for 60 new_daemon || fail "no new daemon (pid file) 60 s after kill -9 of $pid (round $round)"
    pid=$(cat "$KLOGD_PIDFILE")
    echo "$pid" >> /tmp/pids
    write_seq klogd-vm-k9 $((n + 1)) $((n + 30))
    n=$((n + 30))
done
write_seq klogd-vm-k9 $((n + 1)) 250
mark end
result_file pids /tmp/pids
