# Guest part of "oneshot_syscall": see common/oneshot.guest.sh.
KLOGD_SOURCE=syscall
. /vm/common/oneshot.guest.sh
