# Module loaded after the daemon started + SIGUSR1: the module's raw address printed
# afterwards is resolved (common/module_reload.host.sh).
source "$VM_SRC_DIR/scenarios/common/module_reload.host.sh"
check() { expect_resolved "$KERNLOG" 2; }
