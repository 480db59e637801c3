# The test module loaded after the daemon started, unloaded, and loaded again within a
# second, Oopsing in its init the second time: every module address it printed, both
# times, is resolved exactly as the kernel's own %pS (klogd follows the kernel's module
# uevents and keeps the tables of unloaded modules).
source "$VM_SRC_DIR/scenarios/common/module_events.host.sh"
check() {
    # raw#1 (first load), raw#1 (second load), about-to-oops (second load)
    expect_all_resolved "$KERNLOG" 3
}
