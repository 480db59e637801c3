# SIGTSTP suspends the daemon: it closes its source (so /proc can be unmounted);
# records written meanwhile are delivered after mount + SIGCONT: nothing lost, no
# duplicates, in order.
source "$VM_SRC_DIR/scenarios/common/daemon.host.sh"
check() {
    expect_rc umount 0
    expect_rc mount 0
    expect_seq "$KERNLOG" klogd-vm-susp 1 100
    expect_no_grep "$KERNLOG" 'missed [0-9]+ kernel messages' "daemon output (nothing may be lost here)"
}
