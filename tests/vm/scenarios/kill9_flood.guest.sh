# Guest part of "kill9_flood" (see kill9_flood.host.sh).
. /vm/common/daemon.guest.sh
pid=$(daemon_pid)
echo "$pid" > /tmp/pids
printf '#!/bin/sh\nexec cat > /tmp/collector.$$\n' > /tmp/collector.sh
chmod +x /tmp/collector.sh
mark ready
# The flood, paced so that the 128 KiB ring holds what a respawning klogd has not read yet.
(
    i=1
    while [ "$i" -le 2000 ]; do
        write_seq klogd-vm-k9f "$i" $((i + 99))
        i=$((i + 100))
        sleep 0.1
    done
) &
writer=$!
for round in 1 2 3 4 5; do
    sleep 0.$((RANDOM % 7 + 2))
    kill -9 "$pid"
    new_daemon() { p=$(cat "$KLOGD_PIDFILE" 2>/dev/null) && [ "$p" != "$pid" ] && kill -0 "$p" 2>/dev/null; }
    wait_for 60 new_daemon || fail "no new daemon 60 s after kill -9 of $pid (round $round)"
    pid=$(cat "$KLOGD_PIDFILE")
    echo "$pid" >> /tmp/pids
    if [ "$round" -eq 2 ]; then
        nc -ll -p 5140 -e /tmp/collector.sh &
    fi
done
wait "$writer"
mark end 120
at_collector() { cat /tmp/collector.* 2>/dev/null | grep -q 'klogd-vm-mark end'; }
wait_for 120 at_collector || fail "the end marker did not reach the tcp collector within 120 s"
result_file pids /tmp/pids
for f in /tmp/collector.[0-9]*; do
    result_file "collector.${f##*.}" "$f"
done
