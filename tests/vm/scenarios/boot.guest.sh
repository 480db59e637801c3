# Guest part of "boot": see boot.host.sh.
echo "klogd-vm-test: plain write" > /dev/kmsg
echo "<6>klogd-vm-test: level 6" > /dev/kmsg
echo "<30>klogd-vm-test: daemon.info" > /dev/kmsg
result uname uname -r
result dmesg dmesg -r
