# Guest part of "module_load": load the test module, collect what the host checks.
sysctl -w kernel.kptr_restrict=0 >/dev/null
result insmod insmod /vm/modules/klogd_test_mod.ko
result modules cat /proc/modules
result kallsyms cat /proc/kallsyms
result dmesg dmesg -r
