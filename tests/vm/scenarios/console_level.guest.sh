# Guest part of "console_level" (see console_level.host.sh).
. /vm/common/daemon.guest.sh
result_file printk_before /tmp/printk.before
daemon_pid > /dev/null
level_is_3() { [ "$(cut -f1 /proc/sys/kernel/printk)" = 3 ]; }
wait_for 30 level_is_3 || log "console level still $(cat /proc/sys/kernel/printk) after 30 s"
result printk cat /proc/sys/kernel/printk
