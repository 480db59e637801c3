# Shared guest part of tstp_umount and tstp_umount_proc.
. /vm/common/daemon.guest.sh
pid=$(daemon_pid)
mark ready
write_seq klogd-vm-susp 1 30
result fds_before ls -l "/proc/$pid/fd"
kill -TSTP "$pid"
closed() { ! source_open "$pid"; }
wait_for 20 closed || log "klogd still has its source open 20 s after SIGTSTP"
result fds_suspended ls -l "/proc/$pid/fd"
result umount umount /proc
write_seq klogd-vm-susp 31 70
result mount mount -t proc proc /proc
kill -CONT "$pid"
write_seq klogd-vm-susp 71 100
mark end
