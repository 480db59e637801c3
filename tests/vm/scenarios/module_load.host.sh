# The test module loads into the KASLR guest and prints the raw address of a
# function of its own and of a core symbol ("[<%px>]") plus the kernel's own
# symbolization of both ("%pS"); the raw addresses are those /proc/kallsyms
# names. This is the ground truth for the klogd SIGUSR1 / -i / -k scenarios.
check() {
    expect_rc insmod 0 || return 1
    expect_grep modules '^klogd_test_mod [0-9]+ 0 - Live 0x' "/proc/modules"
    local re='^<6>\[ *[0-9]+\.[0-9]{6}\] klogd_test_mod: raw#1 mod \[<(ffffffff[0-9a-f]{8})>\] core \[<(ffffffff[0-9a-f]{8})>\]$'
    expect_grep dmesg "$re" "dmesg (raw [<addr>] line of the module)" || return 1
    local mod_addr core_addr
    mod_addr=$(sed -nE "s/$re/\1/p" dmesg)
    core_addr=$(sed -nE "s/$re/\2/p" dmesg)
    expect_grep dmesg '^<6>\[ *[0-9]+\.[0-9]{6}\] klogd_test_mod: sym#1 mod klogd_test_target\+0x0/0x[0-9a-f]+ \[klogd_test_mod\] core _printk\+0x0/0x[0-9a-f]+$' \
        "dmesg (kernel's %pS of both addresses)"
    expect_grep kallsyms "^$mod_addr [tT] klogd_test_target	\[klogd_test_mod\]$" \
        "kallsyms (klogd_test_target at the printed module address $mod_addr)"
    expect_grep kallsyms "^$core_addr T _printk$" "kallsyms (_printk at the printed core address $core_addr)"
    expect_grep dmesg '^<6>\[ *[0-9]+\.[0-9]{6}\] klogd_test_mod: raw#2 mod \[<'"$mod_addr"'>\] core \[<'"$core_addr"'>\]$' \
        "dmesg (raw#2 line after writing the print parameter)"
    note "klogd_test_target at $mod_addr, _printk at $core_addr"
}
