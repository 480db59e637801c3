# Guest part of "pstore" (see pstore.host.sh). It runs on both boots.
. /vm/common/daemon.guest.sh
pid=$(daemon_pid)
if [ ! -f /tmp/second-boot ]; then
    log "first boot: marker, then panic"
    kmsg "klogd-vm-pstore first boot"
    mark first-boot
    echo c > /proc/sysrq-trigger
    sleep 60
    fail "sysrq c did not panic the guest"
fi
log "second boot"
kmsg "klogd-vm-pstore second boot"
wait_delivered "end of the previous boot's kernel log from /sys/fs/pstore/dmesg-ramoops-0" 60
wait_delivered "incident panic (previous boot, pstore)" 60
wait_delivered "klogd-vm-pstore second boot" 60
# Archived once every output holds it: wait for it to leave pstore.
wait_for 30 sh -c '! ls /sys/fs/pstore | grep -q ^dmesg-' || fail "klogd did not archive /sys/fs/pstore/dmesg-ramoops-0"
result_file pstore-at-boot /tmp/pstore-at-boot
result pstore-after ls /sys/fs/pstore
result archived ls /var/lib/klogd/pstore
# A restart (init respawns it): nothing from pstore again.
kill "$pid"
wait_for 60 sh -c "p=\$(cat $KLOGD_PIDFILE 2>/dev/null) && [ \"\$p\" != $pid ] && kill -0 \"\$p\"" ||
    fail "klogd was not respawned"
mark after-restart
tar -C /var/lib/klogd -cf /tmp/incidents.tar incidents
result_file incidents.tar /tmp/incidents.tar
