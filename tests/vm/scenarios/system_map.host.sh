# System.map for the Debian image (its package ships only a stub): /proc/kallsyms
# of a nokaslr boot holds the link-time addresses. Core symbols only (no [module]
# column), sorted by address, "addr type name" lines. Written to
# $VM_CACHE/System.map-<abi> (VM_SYSTEM_MAP) for the -k / KASLR scenarios; the
# boot is skipped while that file exists (delete it to regenerate).
VM_APPEND="nokaslr"

vm_cached() {
    [ -s "$VM_SYSTEM_MAP" ] && grep -q ' T _text$' "$VM_SYSTEM_MAP"
}

check() {
    expect_rc kallsyms 0 || return 1
    local map=System.map
    # Module symbols carry a tab and "[name]". Whole-line C sort: by address, ties by
    # type and name (this is how ../shared/corpora's System.map was made).
    LC_ALL=C awk 'NF == 3' kallsyms | LC_ALL=C sort > "$map"
    local text
    text=$(awk '$3 == "_text" {print $1}' "$map")
    [ "$text" = ffffffff81000000 ] ||
        { fail "nokaslr boot: _text is '$text', expected ffffffff81000000 (KASLR not off?)"; return 1; }
    expect_no_grep "$map" '^0{16} [tTwW] ' "System.map (zeroed addresses: kptr_restrict?)" || return 1
    local n
    n=$(wc -l < "$map")
    [ "$n" -gt 50000 ] || { fail "System.map has only $n symbols"; return 1; }
    # The same image must give the same map as the shared corpus, when it is there.
    local corpus=$VM_SRC_DIR/../../../shared/corpora/debian-$VM_KERNEL_ABI/System.map-$VM_KERNEL_ABI
    if [ -f "$corpus" ]; then
        expect_same "$map" "$corpus" "System.map vs the shared corpus's" || return 1
    fi
    cp "$map" "$VM_SYSTEM_MAP.tmp" && mv "$VM_SYSTEM_MAP.tmp" "$VM_SYSTEM_MAP"
    note "wrote $VM_SYSTEM_MAP ($n symbols, _text $text)"
}
