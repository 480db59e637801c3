# Shared guest helpers for scenarios with klogd running as the inittab daemon
# (settings in common/daemon.host.sh). Source it from NAME.guest.sh.
KLOGD_PIDFILE=/run/klogd.pid
KLOGD_LOG=/var/log/kern.log
collect "$KLOGD_LOG"          # sent as result _file.kern.log even when the scenario fails
collect /var/lib/klogd/state  # the cursor (--state-file), for diagnosis: _file.state

# daemon_pid: wait for the daemon's pid file; prints the pid.
daemon_pid() {
    wait_pidfile "$KLOGD_PIDFILE" 60 ||
        fail "klogd (inittab respawn) did not write a live pid to $KLOGD_PIDFILE within 60 s"
}

# kmsg TEXT...: one record into the guest kernel log (user facility unless <N> given).
kmsg() {
    echo "$*" > /dev/kmsg
}

# write_seq TAG FROM TO [PAD]: records "TAG N[ PAD]" for N = FROM..TO.
write_seq() {
    _ws_i=$2
    while [ "$_ws_i" -le "$3" ]; do
        echo "$1 $_ws_i${4:+ $4}" > /dev/kmsg
        _ws_i=$((_ws_i + 1))
    done
}

# delivered TEXT: the daemon's output file has a line containing TEXT.
delivered() {
    grep -qF -- "$1" "$KLOGD_LOG" 2>/dev/null
}

# wait_delivered TEXT [SECS]: wait until the daemon wrote TEXT to its file.
wait_delivered() {
    wait_for "${2:-60}" delivered "$1" ||
        fail "'$1' not delivered to $KLOGD_LOG within ${2:-60} s"
}

# mark NAME: write a unique marker record and wait until the daemon delivered it.
mark() {
    kmsg "klogd-vm-mark $1"
    wait_delivered "klogd-vm-mark $1" "${2:-60}"
}

# source_open PID: the process has /dev/kmsg or /proc/kmsg open.
source_open() {
    ls -l "/proc/$1/fd" 2>/dev/null | grep -qE '/dev/kmsg|/proc/kmsg'
}
