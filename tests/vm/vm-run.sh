#!/bin/bash
# vm-run.sh --cache DIR [--klogd PATH] [--keep] SCENARIO
#
# Runs one scenario of tests/vm/scenarios in a qemu guest (software emulation):
#   - builds an initramfs: busybox-static (every applet but klogd), the klogd
#     binary at /sbin/klogd with the shared libraries ldd names, the test module
#     (/vm/modules/klogd_test_mod.ko), an /etc/inittab, and the scenario;
#   - boots the Debian kernel from vm-setup.sh with a hard host-side timeout;
#   - extracts the result blocks the guest wrote to its second serial port into
#     $CACHE/runs/SCENARIO/results/NAME;
#   - runs the scenario's host-side check() and fails, with the guest's console
#     log and kernel log, when anything is wrong.
# See tests/vm/README.md for how to write a scenario.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/vm-common.sh"

usage() { vm_die "usage: vm-run.sh --cache DIR [--klogd PATH] [--keep] SCENARIO"; }
cache='' klogd='' scenario=''
while [ $# -gt 0 ]; do
    case $1 in
        --cache) cache=$2; shift 2 ;;
        --klogd) klogd=$2; shift 2 ;;
        --keep) VM_KEEP=1; shift ;;
        -*) usage ;;
        *) [ -z "$scenario" ] || usage; scenario=$1; shift ;;
    esac
done
[ -n "$cache" ] && [ -n "$scenario" ] || usage
vm_paths "$cache"

host_file=$VM_SRC_DIR/scenarios/$scenario.host.sh
guest_file=$VM_SRC_DIR/scenarios/$scenario.guest.sh
[ -f "$host_file" ] || vm_die "unknown scenario '$scenario' ($host_file missing)"
[ -f "$guest_file" ] || vm_die "scenario '$scenario': $guest_file missing"
[ -f "$VM_VMLINUZ" ] || vm_die "kernel $VM_VMLINUZ missing: run vm-setup.sh $VM_CACHE first (ctest fixture vm_setup)"

# ---- scenario defaults; the host file may override any of these ------------------
VM_APPEND=""          # extra kernel command line (e.g. nokaslr)
VM_INITTAB=""         # extra inittab lines, e.g. "::respawn:/sbin/klogd -n -f /var/log/kern.log"
VM_SYSINIT=""         # shell lines run in the guest before inittab daemons and the scenario
VM_NEEDS_KLOGD=0      # 1: fail early when no klogd binary was given / it does not exist
VM_IMAGE_MODULES=""   # modules of the image (names, e.g. "crc7") to ship decompressed in /vm/modules
VM_FILES=()           # extra "HOST_PATH:GUEST_PATH" files for the initramfs
VM_FILES_HINT=""      # said when one of them is missing
VM_TIMEOUT=150        # host-side hard timeout for qemu, seconds
VM_SMP=${VM_SMP:-1}
VM_MEM=512
VM_PANIC_REBOOT=0     # 1: the scenario panics the guest on purpose; qemu reboots it (RAM kept)
                      #    instead of exiting, and a panic on the console is no failure
check() { :; }        # host-side checks, run in the results directory
vm_cached() { return 1; }  # return 0 to skip the boot (result already cached)
source "$host_file"
VM_GUEST_TIMEOUT=${VM_GUEST_TIMEOUT:-$((VM_TIMEOUT - 20))}

# ---- host-side check helpers (used by check()) ----------------------------------
VM_FAILURES=0
fail() {
    echo "FAIL [vm $scenario]: $*" >&2
    VM_FAILURES=$((VM_FAILURES + 1))
}
note() { echo "vm $scenario: $*"; }
# expect_result NAME...: each result exists
expect_result() {
    local r ok=0
    for r in "$@"; do
        [ -f "$VM_RESULTS/$r" ] || { fail "result '$r' missing (guest did not send it)"; ok=1; }
    done
    return $ok
}
# expect_rc NAME RC: the guest command of `result NAME ...` exited with RC
expect_rc() {
    expect_result "$1.rc" || return 1
    local rc
    rc=$(cat "$VM_RESULTS/$1.rc")
    if [ "$rc" != "$2" ]; then
        fail "'$1' exited with status $rc, expected $2; its stderr:"
        sed 's/^/    /' "$VM_RESULTS/$1.err" 2>/dev/null | head -n 40 >&2
        return 1
    fi
}
# expect_grep NAME ERE [WHAT]: result NAME has a line matching ERE
expect_grep() {
    expect_result "$1" || return 1
    grep -Eq -- "$2" "$VM_RESULTS/$1" ||
        { fail "${3:-result '$1'} has no line matching /$2/"; return 1; }
}
# expect_no_grep NAME ERE [WHAT]: result NAME has no line matching ERE
expect_no_grep() {
    expect_result "$1" || return 1
    if grep -Eq -- "$2" "$VM_RESULTS/$1"; then
        fail "${3:-result '$1'} has a line matching /$2/:"
        grep -E -- "$2" "$VM_RESULTS/$1" | head -n 5 | sed 's/^/    /' >&2
        return 1
    fi
}
# expect_same FILE_A FILE_B WHAT: identical files (paths relative to the results dir)
expect_same() {
    if ! cmp -s -- "$1" "$2"; then
        fail "$3: '$1' and '$2' differ (diff -u, first 60 lines):"
        diff -u -- "$1" "$2" | head -n 60 | sed 's/^/    /' >&2 || true
        return 1
    fi
}

run_dir=$VM_RUNS/$scenario
VM_RESULTS=$run_dir/results
export VM_CACHE VM_RESULTS VM_SYSTEM_MAP VM_TEST_KO VM_KERNEL_ABI

if vm_cached; then
    note "cached, no boot needed"
    exit 0
fi

klogd_abs=
if [ -n "$klogd" ]; then
    if [ -x "$klogd" ]; then
        klogd_abs=$(cd "$(dirname "$klogd")" && pwd)/$(basename "$klogd")
    elif [ "$VM_NEEDS_KLOGD" = 1 ]; then
        vm_die "scenario $scenario: klogd binary '$klogd' does not exist or is not executable"
    fi
fi
[ "$VM_NEEDS_KLOGD" = 0 ] || [ -n "$klogd_abs" ] ||
    vm_die "scenario $scenario needs klogd: pass --klogd PATH"

# ---- initramfs --------------------------------------------------------------------
rm -rf "$run_dir"
root=$run_dir/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,var/log,vm/modules} "$VM_RESULTS"
cp /bin/busybox "$root/bin/busybox"
while read -r applet; do
    case $applet in
        */klogd) continue ;;        # /sbin/klogd is ours
        bin/busybox) continue ;;
    esac
    ln -s /bin/busybox "$root/$applet"
done < <(/bin/busybox --list-full)
ln -s /sbin/init "$root/init"

if [ -n "$klogd_abs" ]; then
    cp "$klogd_abs" "$root/sbin/klogd"
    # Shared libraries and the dynamic loader, at the paths ldd reports.
    ldd_out=$(ldd "$klogd_abs" 2>&1) || true
    if [[ "$ldd_out" != *"not a dynamic executable"* ]]; then
        while read -r lib; do
            [ -n "$lib" ] || continue
            mkdir -p "$root$(dirname "$lib")"
            cp -L "$lib" "$root$lib"
        done < <(awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' <<<"$ldd_out" | sort -u)
        if grep -q 'not found' <<<"$ldd_out"; then
            vm_die "klogd needs libraries ldd cannot find: $(grep 'not found' <<<"$ldd_out" | tr '\n' ' ')"
        fi
    fi
fi

[ ! -f "$VM_TEST_KO" ] || cp "$VM_TEST_KO" "$root/vm/modules/"
# Image modules: extracted from the package once, decompressed (busybox insmod does
# not read .ko.xz), cached in $VM_CACHE/image-modules.
for m in $VM_IMAGE_MODULES; do
    cached=$VM_CACHE/image-modules/$m.ko
    if [ ! -f "$cached" ]; then
        member=$(grep -E "/$m\.ko(\.xz)?\$" "$VM_IMAGE_DIR/modules.list" | head -n1 || true)
        [ -n "$member" ] || vm_die "module $m is not in $VM_KERNEL_PKG ($VM_IMAGE_DIR/modules.list)"
        mkdir -p "$VM_CACHE/image-modules"
        dpkg-deb --fsys-tarfile "$(cat "$VM_IMAGE_DIR/image.deb.path")" | tar -x -O "$member" > "$cached.tmp"
        case $member in
            *.xz) xz -dc < "$cached.tmp" > "$cached.ko.tmp" && mv "$cached.ko.tmp" "$cached" ;;
            *) mv "$cached.tmp" "$cached" ;;
        esac
        rm -f "$cached.tmp"
    fi
    cp "$cached" "$root/vm/modules/$m.ko"
done
for f in "${VM_FILES[@]}"; do
    [ -f "${f%%:*}" ] || vm_die "scenario $scenario: file ${f%%:*} (VM_FILES) does not exist${VM_FILES_HINT:+ ($VM_FILES_HINT)}"
    mkdir -p "$root$(dirname "${f#*:}")"
    cp "${f%%:*}" "$root${f#*:}"
done

cp "$VM_SRC_DIR/guest/rcS" "$root/etc/rcS"
cp "$VM_SRC_DIR/guest/lib.sh" "$root/vm/lib.sh"
cp "$VM_SRC_DIR/guest/run" "$root/vm/run"
cp "$guest_file" "$root/vm/scenario"
if [ -d "$VM_SRC_DIR/scenarios/common" ]; then   # guest code shared by scenarios
    mkdir -p "$root/vm/common"
    cp "$VM_SRC_DIR"/scenarios/common/*.guest.sh "$root/vm/common/" 2>/dev/null || true
fi
printf '%s\n' "$VM_SYSINIT" > "$root/vm/sysinit"
cat > "$root/vm/env" <<ENV
VM_SCENARIO='$scenario'
VM_GUEST_TIMEOUT=$VM_GUEST_TIMEOUT
VM_KERNEL_ABI='$VM_KERNEL_ABI'
ENV
{
    echo "::sysinit:/etc/rcS"
    printf '%s\n' "$VM_INITTAB"
    echo "::once:/vm/run"
} > "$root/etc/inittab"
chmod +x "$root/etc/rcS" "$root/vm/run"

(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) > "$run_dir/initrd.cpio"

# ---- boot -------------------------------------------------------------------------
append="console=ttyS0 quiet panic=-1 $VM_APPEND"
note "booting ($VM_KERNEL_ABI, -smp $VM_SMP -m $VM_MEM, append: $append, timeout ${VM_TIMEOUT}s)"
no_reboot=-no-reboot
[ "$VM_PANIC_REBOOT" = 1 ] && no_reboot=
start=$SECONDS
qemu_rc=0
timeout --kill-after=5 "$VM_TIMEOUT" \
    qemu-system-x86_64 -accel tcg -cpu max -m "$VM_MEM" -smp "$VM_SMP" \
        -nodefaults -display none $no_reboot -nic none \
        -kernel "$VM_VMLINUZ" -initrd "$run_dir/initrd.cpio" -append "$append" \
        -serial "file:$run_dir/console.log" -serial "file:$run_dir/results.raw" \
        </dev/null >"$run_dir/qemu.log" 2>&1 || qemu_rc=$?
elapsed=$((SECONDS - start))

print_guest_log() {
    echo "---- guest console ($run_dir/console.log, last 150 lines) ----" >&2
    tr -d '\r' < "$run_dir/console.log" | tail -n 150 >&2 || true
    if [ -s "$VM_RESULTS/_dmesg" ]; then
        echo "---- guest kernel log (dmesg -r, last 60 lines; all: $VM_RESULTS/_dmesg) ----" >&2
        tail -n 60 "$VM_RESULTS/_dmesg" >&2
    fi
    if [ -s "$run_dir/qemu.log" ]; then
        echo "---- qemu ($run_dir/qemu.log) ----" >&2
        tail -n 20 "$run_dir/qemu.log" >&2
    fi
    echo "---- end of guest logs; results in $VM_RESULTS: $(cd "$VM_RESULTS" && ls | tr '\n' ' ') ----" >&2
}

# ---- results ----------------------------------------------------------------------
# Split "==RESULT name==" ... "==END name==" blocks into results/name.b64.
touch "$run_dir/results.raw"
tr -d '\r' < "$run_dir/results.raw" | awk -v dir="$VM_RESULTS" '
    /^==RESULT [A-Za-z0-9._-]+==$/ { name = substr($0, 10, length($0) - 11); file = dir "/" name ".b64"; printf "" > file; next }
    /^==END [A-Za-z0-9._-]+==$/    { if (file != "") close(file); file = ""; next }
    /^==DONE .* rc=[0-9]+==$/      { print $0 > (dir "/_done"); next }
    file != ""                     { print >> file }
'
corrupt=
for b in "$VM_RESULTS"/*.b64; do
    [ -e "$b" ] || continue
    if ! base64 -d < "$b" 2>/dev/null | gzip -dc > "${b%.b64}" 2>/dev/null; then
        corrupt+=" $(basename "${b%.b64}")"
    fi
    rm -f "$b"
done

status=ok
if [ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ]; then
    fail "guest did not power off within ${VM_TIMEOUT}s (host timeout)"
    status=timeout
elif [ "$qemu_rc" -ne 0 ]; then
    fail "qemu exited with status $qemu_rc"
fi
if [ -n "$corrupt" ]; then
    fail "corrupt or truncated result(s):$corrupt"
fi
if [ ! -f "$VM_RESULTS/_done" ]; then
    fail "guest never reported the end of the scenario (no ==DONE== on the result port)"
else
    guest_rc=$(sed -n 's/.* rc=\([0-9]*\)==$/\1/p' "$VM_RESULTS/_done")
    if [ "$guest_rc" = 124 ]; then
        fail "guest watchdog: the scenario did not finish within ${VM_GUEST_TIMEOUT}s"
    elif [ "$guest_rc" != 0 ]; then
        fail "guest scenario script exited with status $guest_rc"
    fi
fi
if [ "$VM_PANIC_REBOOT" != 1 ] && grep -q 'Kernel panic' "$run_dir/console.log" 2>/dev/null; then
    fail "guest kernel panicked"
fi

guest_uptime=$(cut -d' ' -f1 "$VM_RESULTS/_uptime" 2>/dev/null || echo '?')
if [ "$status" = ok ]; then
    failures_before=$VM_FAILURES
    check_rc=0
    cd "$VM_RESULTS"
    check || check_rc=$?
    cd /
    if [ "$check_rc" -ne 0 ] && [ "$VM_FAILURES" -eq "$failures_before" ]; then
        fail "check() returned $check_rc"
    fi
fi

if [ "$VM_FAILURES" -ne 0 ]; then
    print_guest_log
    echo "vm $scenario: FAILED ($VM_FAILURES problem(s); guest ran ${elapsed}s, uptime at end ${guest_uptime}s)" >&2
    exit 1
fi
note "passed (qemu ${elapsed}s, guest uptime at end ${guest_uptime}s)"
[ "${VM_KEEP:-0}" = 1 ] || rm -rf "$root" "$run_dir/initrd.cpio"
