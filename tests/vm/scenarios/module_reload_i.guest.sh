# Guest part of "module_reload_i": see common/module_reload.guest.sh.
RELOAD=i
. /vm/common/module_reload.guest.sh
