# The same as module_events with the daemon suspended (TSTP: its source closed) the whole
# time: the module was loaded, unloaded and loaded again before klogd read any of its
# records; the uevents were seen meanwhile, so every address resolves as %pS. Then USR1 and
# the module's print parameter: still resolved.
source "$VM_SRC_DIR/scenarios/common/module_events.host.sh"
check() {
    # raw#1, raw#1, about-to-oops, raw#2 (after USR1)
    expect_all_resolved "$KERNLOG" 4
}
