# Guest part of "signal_no_daemon" (see signal_no_daemon.host.sh). No daemon runs.
# Each klogd runs under a shell in a session (process group) of its own that traps
# USR1/USR2, so a klogd signalling its own process group (the klogd 1.5 bug) is
# recorded instead of killing the scenario.
try() {   # NAME ARGS...
    _name=$1
    shift
    rm -f /tmp/signalled
    setsid sh -c '
        trap "echo USR1 >> /tmp/signalled" USR1
        trap "echo USR2 >> /tmp/signalled" USR2
        /sbin/klogd "$@" > /tmp/try.out 2> /tmp/try.err
        echo $? > /tmp/try.rc
        sleep 0.5' sh "$@"
    result_file "$_name" /tmp/try.out
    result_file "$_name.err" /tmp/try.err
    result_file "$_name.rc" /tmp/try.rc
    if [ -f /tmp/signalled ]; then
        result_file "$_name.signalled" /tmp/signalled
    fi
}
try no_pidfile -i --pidfile=/run/none.pid
echo 99999 > /run/stale.pid
try stale_pidfile -i --pidfile=/run/stale.pid
try no_pidfile_I -I --pidfile=/run/none.pid
