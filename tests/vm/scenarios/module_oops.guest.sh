# Guest part of "module_oops": insmod with oops=1 writes through NULL in module
# init; the kernel oopses and kills insmod (non-zero status), then lives on.
sysctl -w kernel.kptr_restrict=0 >/dev/null
result insmod insmod /vm/modules/klogd_test_mod.ko oops=1
echo 1 > /sys/module/klogd_test_mod/parameters/print || fail "writing the print parameter after the Oops failed"
result kallsyms cat /proc/kallsyms
result dmesg dmesg -r
