# TSTP / umount /proc / mount / CONT reading /proc/kmsg (the classic reason for
# TSTP: the open /proc/kmsg keeps /proc busy): common/tstp.host.sh.
KLOGD_EXTRA_ARGS="--source=proc"
source "$VM_SRC_DIR/scenarios/common/tstp.host.sh"
