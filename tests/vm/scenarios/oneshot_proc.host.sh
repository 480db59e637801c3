# klogd -o -f - --format=raw --source=proc vs the guest's dmesg -r (common/oneshot.host.sh).
source "$VM_SRC_DIR/scenarios/common/oneshot.host.sh"
check() { oneshot_check proc; }
