# Infrastructure check, needs no klogd: the guest boots, busybox `dmesg -r`
# (syslog(2) READ_ALL: "<PRI>[secs.usecs] text", full PRI incl. facility)
# comes back intact, and records written to the guest's /dev/kmsg appear with
# the facility/level the kernel gives them (user facility unless one is given).
check() {
    expect_rc dmesg 0
    expect_grep dmesg "^<5>\[ +0\.000000\] Linux version $VM_KERNEL_ABI " "guest dmesg -r (Linux version line)"
    expect_grep dmesg '^<6>\[ +[0-9]+\.[0-9]{6}\] Command line: console=ttyS0 quiet panic=-1' "guest dmesg -r (command line)"
    expect_grep dmesg '^<12>\[ +[0-9]+\.[0-9]{6}\] klogd-vm-test: plain write$' "/dev/kmsg write without prefix (user.warning = <12>)"
    expect_grep dmesg '^<14>\[ +[0-9]+\.[0-9]{6}\] klogd-vm-test: level 6$' "/dev/kmsg write '<6>' (facility 0 becomes user: <14>)"
    expect_grep dmesg '^<30>\[ +[0-9]+\.[0-9]{6}\] klogd-vm-test: daemon.info$' "/dev/kmsg write '<30>'"
    expect_result uname && [ "$(cat uname)" = "$VM_KERNEL_ABI" ] ||
        fail "guest uname -r is '$(cat uname 2>/dev/null)', expected $VM_KERNEL_ABI"
    # Every printable line of the boot log is "<PRI>[ secs.usecs] text".
    expect_no_grep dmesg '^[^<]' "guest dmesg -r (a line without <PRI>)"
}
