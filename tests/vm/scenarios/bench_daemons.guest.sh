# bench_daemons (run by `make bench` only, not a ctest case): kernel log daemons side by side
# on the guest kernel. For each contender, one after the other: start it, wait until a marker
# written to /dev/kmsg shows up in its output file, then
#   latency  BENCH_LAT writes to /dev/kmsg, each timed until its line is in the file;
#   flood    BENCH_FLOOD records written as fast as possible (more than the 128 KiB ring),
#            then an end marker; delivered / lost / duplicated counted in the file;
#   cpu      utime+stime (ms) of the daemon process(es) over the flood, from /proc/PID/stat;
#   rss      RssAnon after the flood (kB, summed over the processes): in this guest pages of
#            initramfs files do not show in VmRSS/RssFile, so only anonymous memory compares.
# Contenders: klogd (/dev/kmsg, traditional format, symbols from /proc/kallsyms), busybox
# klogd (syslog(2) reads) + busybox syslogd -O FILE, rsyslogd with imkmsg (/dev/kmsg), and
# rsyslogd with imklog (/proc/kmsg). Then the idle wake-ups of klogd on /dev/kmsg and with the
# syscall backend (-s), on this quiet guest kernel.
# Tools: /vm/bin/kmsg_tool (tests/bench/kmsg_tool.cpp). Results: NAME.latency, NAME.flood,
# NAME.count, NAME.cpu, NAME.rss, NAME.status for each contender; idle.kmsg, idle.syscall.
T=/vm/bin/kmsg_tool
# BENCH_LAT / BENCH_FLOOD of the host's environment, passed by the host part.
[ -f /vm/bench.env ] && . /vm/bench.env
LAT=${BENCH_LAT:-200}
FLOOD=${BENCH_FLOOD:-5000}
mkdir -p /var/lib/klogd /var/spool/rsyslog /tmp/bench

# pids_of NAME: pids of the contender's processes
pids_of() {
    case $1 in
        busybox) cat /tmp/bench/busybox.pids ;;
        *) cat "/tmp/bench/$1.pid" ;;
    esac
}

start_contender() {
    case $1 in
        klogd)
            /sbin/klogd -n -f /tmp/bench/klogd.log --format=traditional --pidfile=/run/klogd.pid \
                --state-file=/var/lib/klogd/state 2>/tmp/bench/klogd.err &
            echo $! > /tmp/bench/klogd.pid ;;
        busybox)
            busybox syslogd -n -O /tmp/bench/busybox.log 2>/tmp/bench/busybox.err &
            s=$!
            wait_for 10 test -S /dev/log || log "busybox syslogd: no /dev/log"
            busybox klogd -n 2>>/tmp/bench/busybox.err &
            echo "$s $!" > /tmp/bench/busybox.pids ;;
        rsyslog-imkmsg | rsyslog-imklog)
            mod=${1#rsyslog-}
            params=
            [ "$mod" = imklog ] && params=' PermitNonKernelFacility="on"'
            cat > "/tmp/bench/$1.conf" <<EOF
global(workDirectory="/var/spool/rsyslog")
module(load="$mod"$params)
*.* action(type="omfile" file="/tmp/bench/$1.log")
EOF
            /usr/sbin/rsyslogd -n -f "/tmp/bench/$1.conf" -i "/run/$1.pid" 2>"/tmp/bench/$1.err" &
            echo $! > "/tmp/bench/$1.pid" ;;
    esac
}

bench_contender() {
    name=$1 file=/tmp/bench/$1.log
    : > "$file"
    start_contender "$name"
    echo "<14>$name#ready@" > /dev/kmsg
    if ! $T wait "$file" "$name#ready@" 60; then
        result_text "$name.status" "did not start: $(cat /tmp/bench/$name.err 2>/dev/null | head -n 5 | tr '\n' ' ')"
        kill $(pids_of "$name") 2>/dev/null
        return
    fi
    log "$name: ready; latency x $LAT"
    result "$name.latency" $T latency "$file" "$name-lat" "$LAT" 10
    cpu0=$($T cpu $(pids_of "$name"))
    log "$name: flood x $FLOOD"
    result "$name.flood" $T flood "$name-fl" "$FLOOD" 64
    echo "<14>$name#end@" > /dev/kmsg
    $T wait "$file" "$name#end@" 120 || log "$name: end marker not delivered within 120 s"
    sleep 1
    cpu1=$($T cpu $(pids_of "$name"))
    result_text "$name.cpu" "$((cpu1 - cpu0))"
    rss=0
    : > "/tmp/bench/$name.procs"
    for p in $(pids_of "$name"); do
        r=$(awk '/^RssAnon:/ { print $2 }' "/proc/$p/status")
        rss=$((rss + ${r:-0}))
        grep -E '^(Name|Pid|VmRSS|RssAnon|RssFile|RssShmem|Threads):' "/proc/$p/status" >> "/tmp/bench/$name.procs"
    done
    result_text "$name.rss" "$rss"
    result_file "$name.procs" "/tmp/bench/$name.procs"
    result "$name.count" $T count "$file" "$name-fl" "$FLOOD"
    result_text "$name.status" "ok"
    kill $(pids_of "$name") 2>/dev/null
    sleep 1
}

# switches PID: voluntary + involuntary context switches of all its threads
switches() {
    cat /proc/"$1"/task/*/status | awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { s += $2 } END { print s + 0 }'
}

idle() {  # idle NAME SECS ARGS...
    name=$1 secs=$2
    shift 2
    /sbin/klogd -n -f "/tmp/bench/idle-$name.log" --pidfile="/run/idle-$name.pid" \
        --state-file="/var/lib/klogd/idle-$name" "$@" 2>"/tmp/bench/idle-$name.err" &
    pid=$!
    sleep 3
    s0=$(switches "$pid")
    l0=$(wc -l < "/tmp/bench/idle-$name.log")
    sleep "$secs"
    s1=$(switches "$pid")
    l1=$(wc -l < "/tmp/bench/idle-$name.log")
    result_text "idle.$name" "switches=$((s1 - s0)) seconds=$secs records=$((l1 - l0))"
    kill "$pid"
    sleep 1
}

for c in klogd busybox rsyslog-imkmsg rsyslog-imklog; do
    if [ "$c" != klogd ] && [ "$c" != busybox ] && [ ! -x /usr/sbin/rsyslogd ]; then
        result_text "$c.status" "not in the initramfs (rsyslogd not installed on the host)"
        continue
    fi
    bench_contender "$c"
done
idle kmsg 10
idle syscall 10 -s
exit 0
