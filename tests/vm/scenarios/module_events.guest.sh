# Guest part of "module_events" (see module_events.host.sh).
. /vm/common/daemon.guest.sh
daemon_pid > /dev/null
sysctl -w kernel.kptr_restrict=0 >/dev/null
mark ready
insmod /vm/modules/klogd_test_mod.ko || fail "insmod failed"
rmmod klogd_test_mod || fail "rmmod failed"
insmod /vm/modules/klogd_test_mod.ko oops=1 && fail "insmod oops=1 succeeded"
mark end
