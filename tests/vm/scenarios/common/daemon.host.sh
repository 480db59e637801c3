# Shared host part of the scenarios where klogd runs as the inittab daemon:
#   ::respawn:/sbin/klogd -n -f /var/log/kern.log --format=raw --pidfile=/run/klogd.pid
#             --state-file=/var/lib/klogd/state $KLOGD_EXTRA_ARGS
# Set KLOGD_EXTRA_ARGS before sourcing this file. /dev/kmsg writes are not
# ratelimited (kernel.printk_devkmsg=on). The daemon's output file comes back as
# result _file.kern.log (also when the guest part fails).
VM_NEEDS_KLOGD=1
KLOGD_DAEMON_ARGS="-n -f /var/log/kern.log --format=raw --pidfile=/run/klogd.pid --state-file=/var/lib/klogd/state${KLOGD_EXTRA_ARGS:+ $KLOGD_EXTRA_ARGS}"
# The line klogd ships (klogd/init/inittab), with the test's outputs added.
KLOGD_SHIPPED_INITTAB=$(grep -m1 '^::respawn:/sbin/klogd -n' "$VM_SRC_DIR/../../klogd/init/inittab") ||
    { echo "klogd/init/inittab has no '::respawn:/sbin/klogd -n' line" >&2; exit 1; }
VM_INITTAB="$KLOGD_SHIPPED_INITTAB ${KLOGD_DAEMON_ARGS#-n }"
# (echo, not busybox sysctl -w: the kernel wants exactly "on\n" and returns EINVAL
# for busybox's "on" without the newline.)
VM_SYSINIT="echo on > /proc/sys/kernel/printk_devkmsg
mkdir -p /var/lib/klogd"
KERNLOG=_file.kern.log

# seq_numbers FILE TAG: the N of every line ending in "TAG N" or "TAG N <pad>", in file order.
seq_numbers() {
    sed -nE "s/.*$2 ([0-9]+)( [^ ]*)?\$/\\1/p" "$1"
}

# expect_seq FILE TAG FROM TO: "TAG FROM".."TAG TO" each delivered exactly once, in order.
expect_seq() {
    local file=$1 tag=$2 from=$3 to=$4
    expect_result "$file" || return 1
    seq_numbers "$file" "$tag" > "$tag.got"
    seq "$from" "$to" > "$tag.want"
    if ! cmp -s "$tag.want" "$tag.got"; then
        local dups missing disorder
        dups=$(sort -n "$tag.got" | uniq -d | head -n 10 | tr '\n' ' ')
        missing=$(comm -23 <(sort -u "$tag.want") <(sort -u "$tag.got") | sort -n | head -n 10 | tr '\n' ' ')
        disorder=$(sort -n -c "$tag.got" 2>&1 | head -n 1 || true)
        fail "'$tag $from..$to' in $file: $(wc -l < "$tag.got") lines for $((to - from + 1)) records written; missing (first 10): ${missing:-none}; duplicated (first 10): ${dups:-none}${disorder:+; out of order: $disorder}"
        return 1
    fi
}

# expect_kernlog_sane: the daemon wrote the boot log and no "missed" line.
expect_boot_log() {
    expect_grep "$KERNLOG" "Linux version $VM_KERNEL_ABI " "daemon output (boot record 'Linux version')"
}
