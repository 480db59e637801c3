#!/bin/bash
# vm-setup.sh CACHE_DIR
#
# One-time preparation for the vm tests (a ctest FIXTURES_SETUP case):
#   1. apt-get download the Debian kernel image package (once; cached in CACHE_DIR),
#      extract vmlinuz and the list of its modules;
#   2. make sure linux-headers-<abi>-amd64 is installed (apt-get install when root);
#   3. build tests/vm/module (klogd_test_mod.ko) against those headers in CACHE_DIR/module.
# Needs only Debian packages: qemu-system-x86 busybox-static cpio xz-utils, and for
# the module gcc-12 make linux-headers-<abi>-amd64 (pulls linux-kbuild-6.1).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/vm-common.sh"

[ $# -eq 1 ] || vm_die "usage: vm-setup.sh CACHE_DIR"
vm_paths "$1"

for tool in qemu-system-x86_64 cpio gzip base64 xz dpkg-deb apt-get; do
    command -v "$tool" >/dev/null || vm_die "'$tool' not found (Debian packages: qemu-system-x86 cpio xz-utils)"
done
[ -x /bin/busybox ] && [[ $'\n'$(/bin/busybox --list)$'\n' == *$'\n'insmod$'\n'* ]] ||
    vm_die "/bin/busybox missing or without insmod (Debian package busybox-static)"
file_is_static() { ! ldd "$1" >/dev/null 2>&1; }
file_is_static /bin/busybox || vm_die "/bin/busybox is dynamically linked; install busybox-static"

apt_install() {
    if [ "$(id -u)" -ne 0 ]; then
        vm_die "package(s) $* not installed and not root: run 'apt-get install $*'"
    fi
    echo "vm-setup: apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends "$@"; } ||
        vm_die "apt-get install $* failed"
}

# 1. kernel image package
deb=$(ls "$VM_CACHE"/${VM_KERNEL_PKG}_*.deb 2>/dev/null | head -n1 || true)
if [ -z "$deb" ]; then
    echo "vm-setup: apt-get download $VM_KERNEL_PKG"
    (cd "$VM_CACHE" && apt-get download -q "$VM_KERNEL_PKG" 2>&1 | grep -v '^W: Download is performed unsandboxed') ||
        { echo "vm-setup: not found, apt-get update once"
          [ "$(id -u)" -eq 0 ] && apt-get update -qq || true
          (cd "$VM_CACHE" && apt-get download -q "$VM_KERNEL_PKG" 2>&1 | grep -v '^W: Download is performed unsandboxed'); } || true
    deb=$(ls "$VM_CACHE"/${VM_KERNEL_PKG}_*.deb 2>/dev/null | head -n1 || true)
    [ -n "$deb" ] || vm_die "could not download $VM_KERNEL_PKG with apt-get download"
fi
if [ ! -f "$VM_IMAGE_DIR/.extracted-v2" ] || [ "$deb" -nt "$VM_IMAGE_DIR/.extracted-v2" ]; then
    echo "vm-setup: extracting $(basename "$deb")"
    rm -rf "$VM_IMAGE_DIR"
    mkdir -p "$VM_IMAGE_DIR"
    # Only the kernel and the module index (the modules themselves are ~400 MB);
    # vm-run.sh extracts the modules a scenario names (VM_IMAGE_MODULES) on demand.
    dpkg-deb --fsys-tarfile "$deb" |
        tar -x -C "$VM_IMAGE_DIR" --wildcards './boot/*' './lib/modules/*/modules.*'
    dpkg-deb --fsys-tarfile "$deb" | tar -t | grep '\.ko\(\.xz\)\?$' > "$VM_IMAGE_DIR/modules.list"
    echo "$deb" > "$VM_IMAGE_DIR/image.deb.path"
    touch "$VM_IMAGE_DIR/.extracted-v2"
fi
[ -f "$VM_VMLINUZ" ] || vm_die "$VM_VMLINUZ missing after extracting $deb"

# 2. headers for the out-of-tree module
if [ ! -f "$VM_KDIR/Makefile" ]; then
    apt_install "$VM_HEADERS_PKG"
fi
[ -f "$VM_KDIR/Makefile" ] || vm_die "$VM_KDIR missing (package $VM_HEADERS_PKG)"
for tool in make gcc-12; do
    command -v "$tool" >/dev/null || apt_install "$tool"
done

# 3. the test module (rebuilt by make when its source changed)
mkdir -p "$VM_MODULE_BUILD"
cp -p "$VM_SRC_DIR"/module/klogd_test_mod.c "$VM_SRC_DIR"/module/Kbuild \
      "$VM_SRC_DIR"/module/Makefile "$VM_MODULE_BUILD"/
echo "vm-setup: building klogd_test_mod.ko against $VM_KDIR"
make -s -C "$VM_MODULE_BUILD" KDIR="$VM_KDIR" 2>&1 | grep -v 'Skipping BTF generation' || true
[ -f "$VM_TEST_KO" ] && [ "$VM_TEST_KO" -nt "$VM_MODULE_BUILD/klogd_test_mod.c" ] ||
    vm_die "module build failed (see the make output above)"
vermagic=$(/sbin/modinfo -F vermagic "$VM_TEST_KO" 2>/dev/null || strings "$VM_TEST_KO" | sed -n 's/^vermagic=//p')
[[ "$vermagic" == "$VM_KERNEL_ABI "* ]] ||
    vm_die "klogd_test_mod.ko vermagic '$vermagic' does not match $VM_KERNEL_ABI"
echo "vm-setup: ok: $VM_VMLINUZ, $VM_TEST_KO (vermagic $vermagic)"
