# Guest part of "incidents" (see incidents.host.sh): real kernel trouble from the test
# module, each reported by the daemon as one incident.
. /vm/common/daemon.guest.sh
daemon_pid > /dev/null
sysctl -w kernel.kptr_restrict=0 >/dev/null
echo 2 > /proc/sys/kernel/hung_task_timeout_secs || fail "no hung task detector (kernel.hung_task_timeout_secs)"

insmod /vm/modules/klogd_test_mod.ko || fail "insmod klogd_test_mod.ko failed"
# (In this order: after an Oops the kernel is tainted D and its hung task detector is quiet.)
# 1. A WARN_ON: the kernel keeps running.
echo warn > /proc/klogd_test || fail "echo warn > /proc/klogd_test failed"
wait_delivered "incident warning" 60
mark after-warn
# 2. A kernel thread in D state for 7 s: khungtaskd reports it every 2 s meanwhile.
echo "hang 7" > /proc/klogd_test || fail "echo hang > /proc/klogd_test failed"
wait_delivered "incident hung_task" 60
# 3. A memory hog: dd with a 1 GiB buffer in a 512 MiB guest (overcommit always).
echo 1 > /proc/sys/vm/overcommit_memory
dd if=/dev/zero of=/dev/null bs=1G count=1 2>/dev/null && fail "dd bs=1G survived in a 512 MiB guest"
wait_delivered "incident oom_kill" 60
# 4. The module's Oops twice (each kills the writing shell; the kernel lives on): one report
# in full, then a repeat with count 2.
sh -c 'echo oops > /proc/klogd_test'
wait_delivered "incident oops: " 60
sh -c 'echo oops > /proc/klogd_test'
wait_delivered "incident oops (repeat)" 60
mark end
wait_for 10 grep -q '^klogd_incidents_total{kind="oops"} 2$' /run/klogd.prom
result_file metrics.prom /run/klogd.prom
result_text uptime "$(cat /proc/uptime)"
tar -C /var/lib/klogd -cf /tmp/incidents.tar incidents
result_file incidents.tar /tmp/incidents.tar
