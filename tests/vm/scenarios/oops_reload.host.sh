# klogd -p: the Oops of the test module (loaded after the daemon started) makes the
# daemon reload module symbols, so the module's raw address printed after the Oops
# is resolved; the kernel-symbolized Oops lines (RIP, call trace) pass unchanged.
KLOGD_EXTRA_ARGS="-p"
source "$VM_SRC_DIR/scenarios/common/module_reload.host.sh"
check() {
    expect_grep "$KERNLOG" '\] Oops: 0002 \[#1\]' "daemon output (Oops line)"
    local rip
    rip=$(grep -E '\] RIP: 0010:klogd_test_crash' _dmesg | head -n 1 | sed -E 's/^<[0-9]+>\[ *[0-9.]+\] //')
    [ -n "$rip" ] && grep -qF -- "$rip" "$KERNLOG" ||
        fail "daemon output lacks the kernel's RIP line unchanged: '$rip'"
    expect_grep "$KERNLOG" '\]  klogd_test_init\+0x[0-9a-f]+/0x[0-9a-f]+ \[klogd_test_mod\]$' "daemon output (call trace frame of the module)"
    expect_resolved "$KERNLOG" 2
}
