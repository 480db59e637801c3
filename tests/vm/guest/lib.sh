# Guest-side helpers for vm scenarios (busybox ash). Sourced by /vm/run before
# the scenario script; the scenario may use everything here.
#
# Result channel: the second serial port (/dev/ttyS1 in the guest, a file on
# the host), opened once as fd 9 by /vm/run. Every result is one block
#   ==RESULT name==
#   <base64 of the gzip of the bytes>
#   ==END name==
# so that arbitrary bytes (control characters, NUL, no trailing newline)
# survive and a truncated transfer is detected on the host.
#
#   result NAME CMD [ARGS...]   run CMD; its stdout becomes result NAME, its
#                               stderr NAME.err, its exit status NAME.rc.
#                               Returns CMD's exit status.
#   result_file NAME PATH       send the file PATH as result NAME
#   result_text NAME TEXT...    send TEXT (plus a newline) as result NAME
#   collect PATH                send PATH as result _file.<basename> after the
#                               scenario, also when it failed (daemon outputs)
#   log TEXT...                 a line on the guest console (host: console.log)
#   fail TEXT...                log "FAIL: TEXT" and end the scenario (rc 1)
#   wait_for SECS CMD [ARGS..]  poll CMD every 0.1 s until it succeeds; 1 on timeout
#   wait_pidfile PATH [SECS]    wait until PATH names a live process; prints the pid

VM_RESULT_FD=9

_vm_block() {  # name, data on stdin
    {
        echo "==RESULT $1=="
        gzip -c | base64
        echo "==END $1=="
    } >&$VM_RESULT_FD
}

result_file() {
    _vm_block "$1" < "$2"
}

result_text() {
    _vm_name=$1
    shift
    echo "$*" | _vm_block "$_vm_name"
}

result() {
    _vm_name=$1
    shift
    _vm_out=/tmp/.vm-result.$$
    "$@" > "$_vm_out.out" 2> "$_vm_out.err"
    _vm_rc=$?
    _vm_block "$_vm_name" < "$_vm_out.out"
    _vm_block "$_vm_name.err" < "$_vm_out.err"
    echo "$_vm_rc" | _vm_block "$_vm_name.rc"
    rm -f "$_vm_out.out" "$_vm_out.err"
    return $_vm_rc
}

collect() {
    echo "$1" >> /tmp/.vm-collect
}

log() {
    echo "vm: $*" > /dev/console
}

fail() {
    log "FAIL: $*"
    exit 1
}

wait_for() {
    _vm_ticks=$(($1 * 10))
    shift
    while ! "$@" 2>/dev/null; do
        _vm_ticks=$((_vm_ticks - 1))
        [ "$_vm_ticks" -gt 0 ] || return 1
        sleep 0.1
    done
    return 0
}

_vm_pidfile_live() {
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

wait_pidfile() {
    wait_for "${2:-20}" _vm_pidfile_live "$1" || return 1
    cat "$1"
}
