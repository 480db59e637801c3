# Module loaded after the daemon started + `klogd -i` (signals the daemon through its
# pid file, exits 0): the module's raw address printed afterwards is resolved.
source "$VM_SRC_DIR/scenarios/common/module_reload.host.sh"
check() {
    expect_rc reload_i 0
    expect_resolved "$KERNLOG" 2
}
