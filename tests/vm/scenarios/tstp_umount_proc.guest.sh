# Guest part of "tstp_umount_proc": see common/tstp.guest.sh.
. /vm/common/tstp.guest.sh
