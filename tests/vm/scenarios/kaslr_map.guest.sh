# Guest part of "kaslr_map" (see kaslr_map.host.sh).
sysctl -w kernel.kptr_restrict=0 > /dev/null
result text grep ' _text$' /proc/kallsyms
result insmod insmod /vm/modules/klogd_test_mod.ko || fail "insmod failed"
result klogd timeout 60 /sbin/klogd -o -f - --format=raw -k "/boot/System.map-$VM_KERNEL_ABI"
