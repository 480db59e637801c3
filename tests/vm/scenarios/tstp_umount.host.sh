# TSTP / umount /proc / mount / CONT with the default source (/dev/kmsg): common/tstp.host.sh.
source "$VM_SRC_DIR/scenarios/common/tstp.host.sh"
