# Shared host part of module_usr1, module_reload_i and oops_reload: after the
# daemon reloaded its module symbols, the raw#2 line of the test module, printed
# after the reload, has both addresses expanded exactly as the kernel's own %pS
# (the sym#2 line) names them, address kept: "[<A>] klogd_test_target+0x0/0x10
# [klogd_test_mod]" and "[<B>] _printk+0x0/0x83".
source "$VM_SRC_DIR/scenarios/common/daemon.host.sh"

expect_resolved() {   # FILE N: raw#N line in FILE resolved like the kernel's sym#N
    local file=$1 n=$2 sym mod_sym core_sym raw_re addr_mod addr_core
    expect_result "$file" || return 1
    sym=$(grep -E "klogd_test_mod: sym#$n mod " "$file" | head -n 1)
    [ -n "$sym" ] || { fail "$file has no sym#$n line of the test module"; return 1; }
    mod_sym=$(sed -E 's/.* mod (.*) core .*/\1/' <<<"$sym")
    core_sym=$(sed -E 's/.* core (.*)$/\1/' <<<"$sym")
    raw_re="klogd_test_mod: raw#$n mod \\[<(ffffffff[0-9a-f]{8})>\\]"
    expect_grep "$file" "$raw_re" "$file (raw#$n line)" || return 1
    local line
    line=$(grep -E "$raw_re" "$file" | head -n 1)
    addr_mod=$(sed -nE "s/.*$raw_re.*/\\1/p" <<<"$line")
    addr_core=$(sed -nE 's/.* core \[<(ffffffff[0-9a-f]{8})>\].*/\1/p' <<<"$line")
    [[ "$line" == *"[<$addr_mod>] $mod_sym core "* ]] ||
        fail "module address not resolved as the kernel does: want '[<$addr_mod>] $mod_sym' in: $line"
    [[ "$line" == *"[<$addr_core>] $core_sym" ]] ||
        fail "core address not resolved as the kernel does: want '[<$addr_core>] $core_sym' in: $line"
}
