# Shared guest part of module_usr1 and module_reload_i: RELOAD=usr1|i.
. /vm/common/daemon.guest.sh
pid=$(daemon_pid)
mark ready
result insmod insmod /vm/modules/klogd_test_mod.ko || fail "insmod failed"
wait_delivered "klogd_test_mod: sym#1"
case $RELOAD in
    usr1) kill -USR1 "$pid" ;;
    i) result reload_i /sbin/klogd -i --pidfile="$KLOGD_PIDFILE" ;;
esac
sleep 3   # no acknowledgement of a reload: give the daemon (under emulation) time
echo 1 > /sys/module/klogd_test_mod/parameters/print
wait_delivered "klogd_test_mod: sym#2"
[ "$(cat "$KLOGD_PIDFILE")" = "$pid" ] || fail "the daemon was restarted (pid $pid -> $(cat "$KLOGD_PIDFILE"))"
