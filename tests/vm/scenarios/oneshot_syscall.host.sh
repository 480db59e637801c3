# klogd -o -f - --format=raw --source=syscall, and with -s, vs the guest's dmesg -r (common/oneshot.host.sh).
source "$VM_SRC_DIR/scenarios/common/oneshot.host.sh"
check() {
    oneshot_check syscall
    oneshot_check syscall klogd_s "klogd -o -s"
}
