# klogd -c 3 sets the console log level: the first field of /proc/sys/kernel/printk
# goes from 4 (the "quiet" boot) to 3.
KLOGD_EXTRA_ARGS="-c 3"
source "$VM_SRC_DIR/scenarios/common/daemon.host.sh"
VM_SYSINIT+="
cat /proc/sys/kernel/printk > /tmp/printk.before"
check() {
    expect_result printk_before printk || return 1
    [ "$(awk '{print $1}' printk_before)" = 4 ] || fail "console level before klogd: '$(cat printk_before)', expected 4 first"
    [ "$(awk '{print $1}' printk)" = 3 ] || fail "console level with klogd -c 3: '$(cat printk)', expected 3 first"
}
