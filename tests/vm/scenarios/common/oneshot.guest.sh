# Shared guest part of the oneshot_<source> scenarios; the scenario sets
# KLOGD_SOURCE (kmsg|proc|syscall) and sources this file.
# A few userspace records first, one with a control byte (0x01) that the
# formats escape and busybox dmesg -r prints raw.
echo "<6>klogd-vm-test: oneshot $KLOGD_SOURCE plain" > /dev/kmsg
printf '<6>klogd-vm-test: control byte \001 here\n' > /dev/kmsg
echo "<30>klogd-vm-test: daemon facility" > /dev/kmsg
result dmesg_before dmesg -r
result klogd timeout 60 /sbin/klogd -o -f - --format=raw --source="$KLOGD_SOURCE"
if [ "$KLOGD_SOURCE" = syscall ]; then   # -s is the classic spelling of --source=syscall
    result klogd_s timeout 60 /sbin/klogd -o -s -f - --format=raw
fi
result dmesg_after dmesg -r
