# Guest part of "module_usr1": see common/module_reload.guest.sh.
RELOAD=usr1
. /vm/common/module_reload.guest.sh
