# panic -> reboot -> pstore: the first boot loads ramoops (1 MiB of RAM reserved at
# 0x30000000 with memmap=) and panics through sysrq; the kernel writes its log into
# ramoops and reboots (panic=1) in the same qemu, RAM kept. On the second boot
# /sys/fs/pstore holds dmesg-ramoops-0 before klogd starts: the daemon delivers that log
# as records marked pstore, reports one panic incident of origin pstore, and archives
# the file; restarted, it does not deliver it again.
KLOGD_EXTRA_ARGS="--incident-dir=/var/lib/klogd/incidents"
source "$VM_SRC_DIR/scenarios/common/daemon.host.sh"
VM_IMAGE_MODULES="reed_solomon ramoops"
VM_MEM=1024
VM_APPEND='memmap=1M$0x30000000 panic=1'
VM_PANIC_REBOOT=1
VM_TIMEOUT=240
# Before the daemon starts: ramoops, the pstore file system, and which boot this is.
VM_SYSINIT="$VM_SYSINIT
insmod /vm/modules/reed_solomon.ko
insmod /vm/modules/ramoops.ko mem_address=0x30000000 mem_size=0x100000 record_size=0x20000
mkdir -p /sys/fs/pstore && mount -t pstore pstore /sys/fs/pstore
ls /sys/fs/pstore/ > /tmp/pstore-at-boot
grep -q '^dmesg-' /tmp/pstore-at-boot && touch /tmp/second-boot"

check() {
    expect_result "$KERNLOG" pstore-at-boot archived pstore-after || return
    expect_grep pstore-at-boot '^dmesg-ramoops-0$' "/sys/fs/pstore at the second boot"
    expect_no_grep pstore-after '^dmesg-' "/sys/fs/pstore after klogd archived it"
    expect_grep archived '^dmesg-ramoops-0\.[0-9a-f]{16}$' "the archive beside the state file"
    local n
    n=$(grep -c "the previous boot's kernel log from pstore follows" "$KERNLOG")
    [ "$n" = 1 ] || fail "the pstore log was delivered $n times (restart included), expected once"
    # The previous boot's records, marked: its marker and its panic.
    expect_grep "$KERNLOG" '^<[0-9]+,pstore>\[ *[0-9]+\.[0-9]{6}\] klogd-vm-pstore first boot$' "the first boot's marker from pstore"
    expect_grep "$KERNLOG" '^<[0-9]+,pstore>\[ *[0-9]+\.[0-9]{6}\] Kernel panic - not syncing: sysrq triggered crash$' "the first boot's panic from pstore"
    n=$(grep -c '^<[0-9]*,klogd>klogd: incident panic (previous boot, pstore): Kernel panic - not syncing: sysrq triggered crash' "$KERNLOG")
    [ "$n" = 1 ] || fail "expected one panic incident from pstore, got $n"
    grep -q '"kind":"panic".*"origin":"pstore"' incidents/*.json 2>/dev/null ||
        { rm -rf incidents && tar -xf incidents.tar && grep -q '"kind":"panic".*"origin":"pstore"' incidents/*.json; } ||
        fail "no panic incident file of origin pstore"
    # This boot's own records are not marked pstore (the second boot's marker).
    expect_grep "$KERNLOG" '^<12>\[ *[0-9]+\.[0-9]{6}\] klogd-vm-pstore second boot$' "the second boot's own marker"
    expect_grep "$KERNLOG" 'klogd-vm-mark after-restart' "the restarted daemon"
}
