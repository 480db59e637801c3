# Guest part of "daemon_order" (see daemon_order.host.sh).
. /vm/common/daemon.guest.sh
daemon_pid > /dev/null
write_seq klogd-vm-seq 1 300
mark end
