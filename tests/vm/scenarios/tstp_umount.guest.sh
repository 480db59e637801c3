# Guest part of "tstp_umount": see common/tstp.guest.sh.
. /vm/common/tstp.guest.sh
