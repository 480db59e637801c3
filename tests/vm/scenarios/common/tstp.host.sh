# Shared host part of tstp_umount (source auto = /dev/kmsg) and tstp_umount_proc
# (--source=proc): SIGTSTP suspends the daemon and closes its source, so /proc
# can be unmounted; records written while suspended (and while /proc is gone) are
# delivered after mount + SIGCONT: nothing lost, no duplicates, in order.
source "$VM_SRC_DIR/scenarios/common/daemon.host.sh"
check() {
    expect_grep fds_before 'kmsg' "klogd's descriptors before TSTP (source open)"
    expect_no_grep fds_suspended 'kmsg' "klogd's descriptors while suspended (TSTP must close the source)"
    expect_rc umount 0
    expect_rc mount 0
    expect_seq "$KERNLOG" klogd-vm-susp 1 100
    expect_no_grep "$KERNLOG" 'missed [0-9]+ kernel messages' "daemon output (nothing may be lost here)"
}
