# Guest part of "oneshot_proc": see common/oneshot.guest.sh.
KLOGD_SOURCE=proc
. /vm/common/oneshot.guest.sh
