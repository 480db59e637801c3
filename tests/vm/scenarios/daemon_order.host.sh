# klogd started by busybox init from inittab (-n -f FILE) delivers the whole boot
# log and then records written to /dev/kmsg, each once and in order.
source "$VM_SRC_DIR/scenarios/common/daemon.host.sh"
check() {
    expect_boot_log
    expect_seq "$KERNLOG" klogd-vm-seq 1 300
    expect_grep "$KERNLOG" '^<12>\[ *[0-9]+\.[0-9]{6}\] klogd-vm-seq 1$' "daemon output (raw line of a /dev/kmsg write)"
    expect_no_grep "$KERNLOG" 'missed [0-9]+ kernel messages' "daemon output (nothing may be lost here)"
}
