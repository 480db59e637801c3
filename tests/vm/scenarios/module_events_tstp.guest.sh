# Guest part of "module_events_tstp" (see module_events_tstp.host.sh).
. /vm/common/daemon.guest.sh
pid=$(daemon_pid)
sysctl -w kernel.kptr_restrict=0 >/dev/null
mark ready
kill -TSTP "$pid"
wait_for 10 sh -c "! ls -l /proc/$pid/fd | grep -qE '/dev/kmsg|/proc/kmsg'" || fail "TSTP did not close the source"
insmod /vm/modules/klogd_test_mod.ko || fail "insmod failed"
rmmod klogd_test_mod || fail "rmmod failed"
insmod /vm/modules/klogd_test_mod.ko oops=1 && fail "insmod oops=1 succeeded"
kill -CONT "$pid"
mark end
# USR1 still reloads (the module is there, in its failed init)
kill -USR1 "$pid"
echo 1 > /sys/module/klogd_test_mod/parameters/print
wait_delivered "klogd_test_mod: sym#2 mod" 30
