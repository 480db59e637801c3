# Shared host part of the oneshot_<source> scenarios: `klogd -o -f - --format=raw`
# on one source vs busybox `dmesg -r` in the same guest.
#
# busybox dmesg -r writes the syslog(2) READ_ALL buffer as it is: "<PRI>[secs.usecs]
# text" per line with the full PRI (facility*8+level, e.g. <14> for user.info; it is
# util-linux's dmesg -r that prints the level only), one prefixed line per line of a
# multi-line record, control bytes raw. klogd's raw format is meant to be the same
# bytes except that control bytes and the backslash are escaped "\xNN" (DESIGN: line
# outputs escape control bytes; a backslash as \x5c so that \xNN is always an escape),
# so the host escapes bytes 0x00-0x08, 0x0b-0x1f, 0x7f and 0x5c of the dmesg output
# before comparing. Records can be added between the two dmesg runs
# (none expected, but harmless): klogd's output must contain at least everything of
# dmesg_before and be a prefix of dmesg_after.
VM_NEEDS_KLOGD=1

oneshot_check() {   # SOURCE [RESULT (default klogd) [LABEL for messages]]
    local src=$1 klogd=${2:-klogd} label=${3:-"klogd -o --source=$1"}
    expect_rc dmesg_before 0 || return 1
    expect_rc dmesg_after 0 || return 1
    expect_result "$klogd.rc" "$klogd" || return 1
    local rc
    rc=$(cat "$klogd.rc")
    if [ "$rc" = 143 ]; then
        fail "$label did not exit within 60 s (killed by timeout)"
        return 1
    fi
    expect_rc "$klogd" 0 || return 1
    if [ -s "$klogd.err" ]; then
        note "$label wrote to stderr:"
        sed 's/^/    /' "$klogd.err" | head -n 20
    fi
    local f
    for f in dmesg_before dmesg_after; do
        perl -pe 's/([\x00-\x08\x0b-\x1f\x7f\\])/sprintf("\\x%02x", ord($1))/ge' "$f" > "$f.escaped"
    done
    local n_klogd n_before
    n_klogd=$(wc -l < "$klogd")
    n_before=$(wc -l < dmesg_before.escaped)
    head -n "$n_klogd" dmesg_after.escaped > dmesg_after.head
    expect_same dmesg_after.head "$klogd" "$label vs guest dmesg -r (control bytes escaped)" || return 1
    [ "$n_klogd" -ge "$n_before" ] ||
        { fail "$label printed $n_klogd lines, dmesg -r before it $n_before"; return 1; }
    expect_grep "$klogd" "^<5>\[ +0\.000000\] Linux version $VM_KERNEL_ABI " "klogd output (first record)"
    expect_grep "$klogd" "^<14>\[ *[0-9]+\.[0-9]{6}\] klogd-vm-test: oneshot $src plain$" "klogd output (user.info record)"
    expect_grep "$klogd" '^<30>\[ *[0-9]+\.[0-9]{6}\] klogd-vm-test: daemon facility$' "klogd output (daemon.info record)"
    note "$label: $n_klogd lines identical to dmesg -r"
}
