# klogd -o -k System.map (the map of the image from the nokaslr boot, fixture
# vm_system_map) on a KASLR boot: the test module's raw core address resolves to the
# same symbol the kernel names, i.e. the KASLR offset is applied to the map.
VM_NEEDS_KLOGD=1
VM_FILES=("$VM_SYSTEM_MAP:/boot/System.map-$VM_KERNEL_ABI")
VM_FILES_HINT="made by scenario system_map, ctest fixture vm_system_map"
source "$VM_SRC_DIR/scenarios/common/module_reload.host.sh"
VM_INITTAB=""
check() {
    expect_rc klogd 0 || return 1
    local text
    text=$(awk '{print $1}' text)
    if [ "$text" = ffffffff81000000 ]; then
        note "this boot's KASLR offset is 0 (_text $text): -k is not really exercised"
    else
        note "KASLR _text $text (map: ffffffff81000000)"
    fi
    expect_resolved klogd 1
}
