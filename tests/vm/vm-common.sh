# Shared settings of the vm harness scripts (sourced by vm-setup.sh, vm-run.sh).
# Everything downloaded or built lives in the cache directory (inside the build
# tree), never in the source tree.

VM_KERNEL_ABI=${VM_KERNEL_ABI:-6.1.0-56-amd64}
VM_KERNEL_PKG=linux-image-$VM_KERNEL_ABI
VM_HEADERS_PKG=linux-headers-$VM_KERNEL_ABI
VM_KDIR=${VM_KDIR:-/usr/src/linux-headers-$VM_KERNEL_ABI}
VM_SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

vm_die() {
    echo "vm: error: $*" >&2
    exit 1
}

# Paths inside the cache directory $1.
vm_paths() {
    VM_CACHE=$(mkdir -p "$1" && cd "$1" && pwd)
    VM_IMAGE_DIR=$VM_CACHE/image                       # dpkg-deb -x of the image package
    VM_VMLINUZ=$VM_IMAGE_DIR/boot/vmlinuz-$VM_KERNEL_ABI
    VM_IMAGE_MODDIR=$VM_IMAGE_DIR/lib/modules/$VM_KERNEL_ABI
    VM_MODULE_BUILD=$VM_CACHE/module                   # copy of tests/vm/module, built
    VM_TEST_KO=$VM_MODULE_BUILD/klogd_test_mod.ko
    VM_SYSTEM_MAP=$VM_CACHE/System.map-$VM_KERNEL_ABI  # from a nokaslr boot (scenario system_map)
    VM_RUNS=$VM_CACHE/runs                             # one directory per scenario run
}
