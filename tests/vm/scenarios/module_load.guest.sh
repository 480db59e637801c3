# Guest part of "module_load": load the test module, collect what the host checks.
sysctl -w kernel.kptr_restrict=0 >/dev/null
result insmod insmod /vm/modules/klogd_test_mod.ko
result modules cat /proc/modules
echo 1 > /sys/module/klogd_test_mod/parameters/print || fail "writing the print parameter failed"
result kallsyms cat /proc/kallsyms
result dmesg dmesg -r
