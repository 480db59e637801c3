# Guest part of "oneshot_kmsg": see common/oneshot.guest.sh.
KLOGD_SOURCE=kmsg
. /vm/common/oneshot.guest.sh
