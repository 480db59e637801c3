#!/bin/bash
# run-bench.sh: the benchmark table of `make bench` (issue 7). Called by the `bench` target of
# tests/bench/CMakeLists.txt; prints one markdown table on stdout (progress on stderr) and keeps
# a copy in WORK/table.md. Figures are medians of BENCH_RUNS runs (default 5); every ratio is
# taken from figures of the same run. Targets are reported, never asserted: the exit status is
# 0 unless a tool could not run at all.
#
#   run-bench.sh --klogd BIN --tools DIR --work DIR [--vm-cache DIR] [--vm on|off]
#                [--sections "throughput device symbols footprint guest"]
#
# Only reads the host's /dev/kmsg (never writes it, never opens /proc/kmsg or uses syslog(2)
# reads that consume); everything that writes kernel records runs in the qemu guest.
set -euo pipefail

src_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$src_dir/../.." && pwd)
klogd='' tools='' work='' vm_cache='' vm=on
sections="throughput device symbols footprint guest"
while [ $# -gt 0 ]; do
    case $1 in
        --klogd) klogd=$2; shift 2 ;;
        --tools) tools=$2; shift 2 ;;
        --work) work=$2; shift 2 ;;
        --vm-cache) vm_cache=$2; shift 2 ;;
        --vm) vm=$2; shift 2 ;;
        --sections) sections=$2; shift 2 ;;
        *) echo "usage: run-bench.sh --klogd BIN --tools DIR --work DIR [--vm-cache DIR] [--vm on|off] [--sections LIST]" >&2; exit 2 ;;
    esac
done
[ -x "$klogd" ] && [ -d "$tools" ] && [ -n "$work" ] || { echo "run-bench.sh: --klogd, --tools and --work are required" >&2; exit 2; }
klogd=$(cd "$(dirname "$klogd")" && pwd)/$(basename "$klogd")
tools=$(cd "$tools" && pwd)
mkdir -p "$work"
work=$(cd "$work" && pwd)
[ -n "$vm_cache" ] || vm_cache=$work/vm-cache

RUNS=${BENCH_RUNS:-5}
RECORDS=${BENCH_RECORDS:-1000000}
data=$repo/tests/data
kallsyms=$data/symbols/kallsyms
modules=$data/symbols/proc-modules
table=$work/table.md
rows=$work/rows.md
: > "$rows"

say() { echo "bench: $*" >&2; }
row() { printf '| %s | %s | %s | %s | %s |\n' "$@" | tee -a "$rows" >&2; }
want() { [[ " $sections " == *" $1 "* ]]; }
# fmt_rate RECORDS SECONDS -> "1.23 M records/s"
fmt_rate() { awk -v n="$1" -v s="$2" 'BEGIN { r = n / s; if (r >= 1e6) printf "%.2f M records/s", r / 1e6; else printf "%.0f k records/s", r / 1e3 }'; }
# secs SECONDS -> "0.845 s"
secs() { awk -v s="$1" 'BEGIN { printf "%.3f s", s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# time_median CMD...: wall seconds of CMD, median of $RUNS runs; $PREP (if set) runs before
# each, untimed (e.g. to remove an output file klogd would append to).
time_median() {
    local i start end
    for ((i = 0; i < RUNS; i++)); do
        [ -z "${PREP:-}" ] || eval "$PREP"
        start=$EPOCHREALTIME
        "$@"
        end=$EPOCHREALTIME
        awk -v a="$start" -v b="$end" 'BEGIN { printf "%.6f\n", b - a }'
    done | median
}

# ---- 1. pipeline throughput -------------------------------------------------------------
throughput() {
    local kmsg=$work/corpus.kmsg raw=$work/corpus.dmesg-r out=$work/out.txt info
    say "generating the $RECORDS-record corpus from tests/data/corpus/kmsg.records"
    info=$("$tools/bench_corpus" "$data/corpus/kmsg.records" "$kallsyms" "$RECORDS" "$kmsg" "$raw")
    say "$info"
    local kmsg_mb raw_mb lines addr
    kmsg_mb=$(awk -v b="$(stat -c %s "$kmsg")" 'BEGIN { printf "%.0f", b / 1048576 }')
    raw_mb=$(awk -v b="$(stat -c %s "$raw")" 'BEGIN { printf "%.0f", b / 1048576 }')
    lines=$(sed 's/.*dmesg_raw_lines=\([0-9]*\).*/\1/' <<<"$info")
    addr=$(sed 's/.*address_records=\([0-9]*\).*/\1/' <<<"$info")
    cat "$kmsg" "$raw" > /dev/null   # both in the page cache for every contender

    local sym=(--kallsyms="$kallsyms" --modules="$modules")
    say "timing cat, klogd, dmesg -F ($RUNS runs each)"
    local t_cat_k t_cat_r t_k t_r t_kx t_rx t_dm t_dm_null
    t_cat_k=$(time_median sh -c 'cat "$1" > /dev/null' sh "$kmsg")
    t_cat_r=$(time_median sh -c 'cat "$1" > /dev/null' sh "$raw")
    PREP="rm -f $out"
    t_k=$(time_median "$klogd" -o --source="$kmsg" -f "$out" --format=traditional "${sym[@]}")
    local expanded
    expanded=$(grep -Ec '(\[<[0-9a-f]+>\]|RIP: 0010:0x[0-9a-f]+) [A-Za-z0-9_.]+\+0x[0-9a-f]+/0x' "$out" || true)
    t_r=$(time_median "$klogd" -o --source="$raw" -f "$out" --format=traditional "${sym[@]}")
    t_kx=$(time_median "$klogd" -o --source="$kmsg" -f "$out" --format=traditional -x)
    t_rx=$(time_median "$klogd" -o --source="$raw" -f "$out" --format=traditional -x)
    t_dm=$(time_median sh -c 'dmesg -F "$1" > "$2"' sh "$raw" "$out")
    unset PREP
    t_dm_null=$(time_median sh -c 'dmesg -F "$1" > /dev/null' sh "$raw")
    rm -f "$out"

    local n=$RECORDS
    row throughput "\`cat\` kmsg form (${kmsg_mb} MiB) > /dev/null: I/O floor" "$(fmt_rate "$n" "$t_cat_k") ($(secs "$t_cat_k"))" "" ""
    row throughput "\`cat\` dmesg -r form (${raw_mb} MiB, $lines lines) > /dev/null" "$(fmt_rate "$n" "$t_cat_r") ($(secs "$t_cat_r"))" "" ""
    row throughput "klogd -o, kmsg form → file, traditional, symbols ($addr address records, $expanded lines expanded)" \
        "$(fmt_rate "$n" "$t_k") ($(secs "$t_k"))" "$(ratio "$t_dm" "$t_k")× dmesg -F; cat $(ratio "$t_k" "$t_cat_k")× faster" "≥ 10× dmesg -F"
    row throughput "klogd -o, dmesg -r form → file, traditional, symbols" \
        "$(fmt_rate "$n" "$t_r") ($(secs "$t_r"))" "**$(ratio "$t_dm" "$t_r")× dmesg -F** (same file)" "≥ 10× dmesg -F"
    row throughput "klogd -o -x (no symbols), kmsg form → file" "$(fmt_rate "$n" "$t_kx") ($(secs "$t_kx"))" "$(ratio "$t_dm" "$t_kx")× dmesg -F" ""
    row throughput "klogd -o -x (no symbols), dmesg -r form → file" "$(fmt_rate "$n" "$t_rx") ($(secs "$t_rx"))" "$(ratio "$t_dm" "$t_rx")× dmesg -F" ""
    row throughput "\`dmesg -F\` dmesg -r form → file (util-linux $(dmesg --version | awk '{print $NF}'))" "$(fmt_rate "$n" "$t_dm") ($(secs "$t_dm"))" "1.00" "reference"
    row throughput "\`dmesg -F\` dmesg -r form → /dev/null" "$(fmt_rate "$n" "$t_dm_null") ($(secs "$t_dm_null"))" "$(ratio "$t_dm" "$t_dm_null")" ""
}

# ---- 2. the device limit ----------------------------------------------------------------
device() {
    local passes=${BENCH_KMSG_PASSES:-1000} out raw_rate per_pass
    say "reading /dev/kmsg: raw loop vs klog path, $passes passes x $RUNS runs"
    out=$("$tools/kmsg_bench" "$passes" "$RUNS")
    grep '^|' <<<"$out" | tee -a "$rows" >&2
    raw_rate=$(sed -n 's/^# raw_rate=\([0-9.]*\).*/\1/p' <<<"$out")
    per_pass=$(sed -n 's/.* records_per_pass=\([0-9]*\).*/\1/p' <<<"$out")
    # The same records through the whole program, start-up included.
    local procs=${BENCH_KMSG_PROCS:-100} t
    t=$(time_median bash -c 'for ((i = 0; i < $2; i++)); do "$1" -o -x --source=kmsg --format=raw -f /dev/null; done' \
        sh "$klogd" "$procs")
    local rate
    rate=$(awk -v n="$per_pass" -v p="$procs" -v s="$t" 'BEGIN { printf "%.0f", n * p / s }')
    row device "\`klogd -o -x --source=kmsg --format=raw -f /dev/null\` × $procs processes (start-up included)" \
        "$(fmt_rate "$((per_pass * procs))" "$t") ($(awk -v s="$t" -v p="$procs" 'BEGIN { printf "%.2f", s * 1000 / p }') ms/process)" \
        "$(awk -v a="$rate" -v b="$raw_rate" 'BEGIN { printf "%.0f %%", 100 * a / b }') of raw" "(process cost, not a limit)"
}

# ---- 3. symbols -------------------------------------------------------------------------
symbols() {
    say "symbols_bench"
    "$tools/symbols_bench" "$kallsyms" "$data/symbols/System.map-6.1.0-56-amd64" "$modules" | grep '^|' | tee -a "$rows" >&2
}

# ---- 4. footprint -----------------------------------------------------------------------
# status_field PID FIELD: value (kB or count) from /proc/PID/status
status_field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
# switches PID: voluntary + involuntary context switches of every thread
switches() {
    local t sum=0 v
    for t in /proc/"$1"/task/*; do
        v=$(awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { s += $2 } END { print s + 0 }' "$t/status" 2>/dev/null || echo 0)
        sum=$((sum + v))
    done
    echo "$sum"
}
# idle_daemon NAME SECS ARGS...: start klogd -n ARGS, let it settle, sample memory and wake-ups
idle_daemon() {
    local name=$1 secs=$2
    shift 2
    local dir=$work/idle-$name
    rm -rf "$dir"
    mkdir -p "$dir"
    "$klogd" -n -f "$dir/out.log" --pidfile="$dir/pid" --state-file="$dir/state" "$@" 2>"$dir/stderr" &
    local pid=$!
    sleep 2
    if ! kill -0 "$pid" 2>/dev/null; then
        say "klogd ($name) exited: $(cat "$dir/stderr")"
        echo "failed"
        return
    fi
    local rss hwm s0 s1 l0 l1 threads
    rss=$(status_field "$pid" VmRSS)
    hwm=$(status_field "$pid" VmHWM)
    threads=$(status_field "$pid" Threads)
    l0=$(wc -l < "$dir/out.log")
    s0=$(switches "$pid")
    sleep "$secs"
    s1=$(switches "$pid")
    l1=$(wc -l < "$dir/out.log")
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    echo "$rss $hwm $((s1 - s0)) $((l1 - l0)) $threads"
}
footprint() {
    local secs=${BENCH_IDLE_SECS:-10} r rss hwm wake lines threads
    say "idle daemon on /dev/kmsg with symbols from /proc/kallsyms (${secs} s)"
    r=$(idle_daemon kmsg "$secs")
    if [ "$r" != failed ]; then
        read -r rss hwm wake lines threads <<<"$r"
        row footprint "idle \`klogd -n -f FILE\` on /dev/kmsg, symbols from /proc/kallsyms ($(grep -c . /proc/kallsyms) lines): VmRSS / VmHWM" \
            "$(awk -v a="$rss" -v b="$hwm" 'BEGIN { printf "%.1f MiB / %.1f MiB", a / 1024, b / 1024 }')" \
            "$(awk -v a="$rss" 'BEGIN { printf "%.2f", 10240 / a }') x target" "VmRSS < 10 MiB"
        row footprint "wake-ups, /dev/kmsg, quiet kernel ($secs s, $threads thread(s), $lines records meanwhile)" \
            "$(awk -v w="$wake" -v s="$secs" 'BEGIN { printf "%.1f /s (%d context switches)", w / s, w }')" "" "0 /s"
    fi
    r=$(idle_daemon kmsg-x 2 -x)
    if [ "$r" != failed ]; then
        read -r rss hwm wake lines threads <<<"$r"
        row footprint "idle \`klogd -n -x -f FILE\` on /dev/kmsg (no symbol tables): VmRSS / VmHWM" \
            "$(awk -v a="$rss" -v b="$hwm" 'BEGIN { printf "%.1f MiB / %.1f MiB", a / 1024, b / 1024 }')" \
            "$(awk -v a="$rss" 'BEGIN { printf "%.2f", 10240 / a }') x target" "VmRSS < 10 MiB"
    fi
    say "idle daemon on a FIFO standing in for /proc/kmsg (${secs} s)"
    local fifo=$work/kmsg.fifo
    rm -f "$fifo"
    mkfifo "$fifo"
    exec 9<>"$fifo"   # a writer that never writes: the reader sees no EOF
    r=$(idle_daemon proc "$secs" -x --source=proc:"$fifo")
    exec 9>&-
    rm -f "$fifo"
    if [ "$r" != failed ]; then
        read -r rss hwm wake lines threads <<<"$r"
        row footprint "wake-ups, \`--source=proc:FIFO\` (/proc/kmsg code path, -x; VmRSS $(awk -v a="$rss" 'BEGIN { printf "%.1f MiB", a / 1024 }'))" \
            "$(awk -v w="$wake" -v s="$secs" 'BEGIN { printf "%.1f /s (%d context switches)", w / s, w }')" "" "0 /s"
    fi
}

# ---- 5. the qemu guest ------------------------------------------------------------------
guest() {
    if [ "$vm" != on ]; then
        row guest "qemu guest scenarios" "not run (KLOGD_BENCH_VM=OFF)" "" ""
        return
    fi
    local waited=0
    while pgrep -f qemu-system >/dev/null; do
        [ $((waited % 60)) -ne 0 ] || say "another qemu is running; waiting (one guest at a time on this machine)"
        sleep 5
        waited=$((waited + 5))
        if [ "$waited" -ge "${BENCH_QEMU_WAIT:-1800}" ]; then
            row guest "qemu guest scenarios" "not run: another qemu kept running for ${waited} s" "" ""
            return
        fi
    done
    if [ ! -f "$vm_cache/image/boot/vmlinuz-6.1.0-56-amd64" ]; then
        say "vm-setup.sh $vm_cache (kernel image download, once)"
        bash "$repo/tests/vm/vm-setup.sh" "$vm_cache" >&2 ||
            { row guest "qemu guest scenarios" "not run: vm-setup.sh failed" "" ""; return; }
    fi
    local scenario=bench_daemons
    say "qemu guest: $scenario (a few minutes under software emulation)"
    if ! KLOGD_BENCH_TOOLS=$tools bash "$repo/tests/vm/vm-run.sh" --cache "$vm_cache" --klogd "$klogd" "$scenario" >&2; then
        row guest "qemu guest scenario $scenario" "failed: see $vm_cache/runs/$scenario" "" ""
        return
    fi
    local res=$vm_cache/runs/$scenario/results
    [ -f "$res/bench.rows" ] && tee -a "$rows" < "$res/bench.rows" >&2
}

host_line="$(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), kernel $(uname -r), $(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
say "machine: $host_line"
for s in throughput device symbols footprint guest; do
    if want "$s"; then
        "$s"
    fi
done

{
    echo "Machine: $host_line; $(date -u +%Y-%m-%d)."
    echo "Command: \`make bench\` (tests/bench/run-bench.sh); each figure the median of $RUNS runs."
    echo
    echo "| area | what | result | ratio (same run) | target |"
    echo "| --- | --- | --- | --- | --- |"
    cat "$rows"
} > "$table"
cat "$table"
