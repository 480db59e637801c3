# Guest part of "oops_reload" (see oops_reload.host.sh).
. /vm/common/daemon.guest.sh
pid=$(daemon_pid)
mark ready
result insmod insmod /vm/modules/klogd_test_mod.ko oops=1
wait_delivered "Modules linked in: klogd_test_mod"
mark after-oops
echo 1 > /sys/module/klogd_test_mod/parameters/print
wait_delivered "klogd_test_mod: sym#2"
