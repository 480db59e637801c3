# Guest part of "daemon_flood" (see daemon_flood.host.sh).
. /vm/common/daemon.guest.sh
pid=$(daemon_pid)
mark ready
wait_for 10 grep -q '^klogd_missed_records_total ' /run/klogd.prom || fail "no --metrics-file"
sleep 1.2  # written every second: this one is after "ready"
cp /run/klogd.prom /tmp/metrics.before
kill -STOP "$pid"
write_seq klogd-vm-flood 1 3000 "padding-to-make-the-flood-overrun-the-128KiB-ring-quickly-0123456789abcdef"
kill -CONT "$pid"
mark end 90
sleep 2.5  # the next --metrics-file after the end marker
result_file metrics.before /tmp/metrics.before
result_file metrics.after /run/klogd.prom
