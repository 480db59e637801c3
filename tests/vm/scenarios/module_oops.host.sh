# A real Oops from the test module (oops=1): the kernel log has the BUG/Oops
# lines and a RIP and call trace pointing into klogd_test_mod.
check() {
    expect_result insmod.rc || return 1
    [ "$(cat insmod.rc)" != 0 ] || fail "insmod oops=1 succeeded; expected it to be killed by the Oops"
    expect_grep dmesg '^<1>\[ *[0-9]+\.[0-9]{6}\] BUG: kernel NULL pointer dereference, address: 0000000000000000$' "dmesg (BUG line)"
    expect_grep dmesg '^<4>\[ *[0-9]+\.[0-9]{6}\] Oops: 0002 \[#1\] PREEMPT SMP' "dmesg (Oops: line)"
    expect_grep dmesg '^<4>\[ *[0-9]+\.[0-9]{6}\] RIP: 0010:klogd_test_crash\+0x[0-9a-f]+/0x[0-9a-f]+ \[klogd_test_mod\]$' "dmesg (RIP in the module)"
    expect_grep dmesg '^<4>\[ *[0-9]+\.[0-9]{6}\]  klogd_test_init\+0x[0-9a-f]+/0x[0-9a-f]+ \[klogd_test_mod\]$' "dmesg (call trace frame of the module)"
    local re='klogd_test_mod: about to oops in \[<(ffffffff[0-9a-f]{8})>\] called from \[<(ffffffff[0-9a-f]{8})>\]$'
    expect_grep dmesg "$re" "dmesg (module's raw addresses before the Oops)" || return 1
    local crash_addr
    crash_addr=$(sed -nE "s/.*$re/\1/p" dmesg)
    expect_grep kallsyms "^$crash_addr t klogd_test_crash	\[klogd_test_mod\]$" \
        "kallsyms (klogd_test_crash at the printed address $crash_addr)"
    expect_grep dmesg 'klogd_test_mod: raw#2 mod \[<ffffffff[0-9a-f]{8}>\] core' "dmesg (print parameter still works after the Oops)"
    expect_grep kallsyms '	\[klogd_test_mod\]$' "kallsyms (module symbols still listed after the failed init)"
}
