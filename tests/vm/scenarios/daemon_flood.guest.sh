# Guest part of "daemon_flood" (see daemon_flood.host.sh).
. /vm/common/daemon.guest.sh
pid=$(daemon_pid)
mark ready
kill -STOP "$pid"
write_seq klogd-vm-flood 1 3000 "padding-to-make-the-flood-overrun-the-128KiB-ring-quickly-0123456789abcdef"
kill -CONT "$pid"
mark end 90
