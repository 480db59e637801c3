#!/bin/bash
# run-bench.sh: the benchmark table of `make bench` (issue 7). Called by the `bench` target of
# tests/bench/CMakeLists.txt; prints one markdown table on stdout (progress on stderr) and keeps
# a copy in WORK/table.md. Figures are medians of BENCH_RUNS runs (default 5); every ratio is
# taken from figures of the same run. The throughput contenders run in rounds, each once per
# round, so that a machine whose speed drifts (a shared VM) slows them alike; their ratios are
# the medians of the ratios of each round. Targets are reported, never asserted: the exit status is
# 0 unless a tool could not run at all.
#
#   run-bench.sh --klogd BIN --tools DIR --work DIR [--vm-cache DIR] [--vm on|off]
#                [--sections "throughput device symbols footprint guest"]
#                [--previous-klogd BIN --previous-tools DIR]
#
# --previous-klogd / --previous-tools (issue 16): a klogd and a symbols_bench built from an older
# version (e.g. commit 81d77c1, before the compact symbol tables). The symbols and footprint
# sections then run them too and print each of their figures in a row right below the current
# one ("↳ previous (COMMIT)", with current/previous in the ratio column). symbols_bench of the
# older version must be built from this tree's tests/bench/symbols_bench.cpp (it uses only
# symbol APIs both versions have; the older source lacks the rows for this machine's
# /proc/kallsyms). Without the options, the environment variable KLOGD_BENCH_PREVIOUS=DIR (the
# older version's build tree: DIR/klogd/klogd and DIR/tests/bench/symbols_bench) stands for
# both; the cmake cache variable KLOGD_BENCH_PREVIOUS of the bench tree passes the options.
# The two symbols_bench then run in turn BENCH_SYMBOLS_ROUNDS times (default 3; 1 without a
# previous version) and each row is the median round's.
# Building the previous version once:
#   git worktree add /tmp/prev-81d77c1 81d77c1
#   cp tests/bench/symbols_bench.cpp /tmp/prev-81d77c1/tests/bench/
#   cmake -S /tmp/prev-81d77c1 -B /tmp/prev-81d77c1/build -DCMAKE_BUILD_TYPE=Release
#   nice cmake --build /tmp/prev-81d77c1/build -j 2 --target klogd symbols_bench
#   KLOGD_BENCH_PREVIOUS=/tmp/prev-81d77c1/build make bench
#
# Only reads the host's /dev/kmsg (never writes it, never opens /proc/kmsg or uses syslog(2)
# reads that consume); everything that writes kernel records runs in the qemu guest.
set -euo pipefail

src_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$src_dir/../.." && pwd)
klogd='' tools='' work='' vm_cache='' vm=on prev_klogd='' prev_tools=''
sections="throughput device symbols footprint guest"
while [ $# -gt 0 ]; do
    case $1 in
        --klogd) klogd=$2; shift 2 ;;
        --tools) tools=$2; shift 2 ;;
        --work) work=$2; shift 2 ;;
        --vm-cache) vm_cache=$2; shift 2 ;;
        --vm) vm=$2; shift 2 ;;
        --sections) sections=$2; shift 2 ;;
        --previous-klogd) prev_klogd=$2; shift 2 ;;
        --previous-tools) prev_tools=$2; shift 2 ;;
        *) echo "usage: run-bench.sh --klogd BIN --tools DIR --work DIR [--vm-cache DIR] [--vm on|off] [--sections LIST] [--previous-klogd BIN --previous-tools DIR]" >&2; exit 2 ;;
    esac
done
[ -x "$klogd" ] && [ -d "$tools" ] && [ -n "$work" ] || { echo "run-bench.sh: --klogd, --tools and --work are required" >&2; exit 2; }
klogd=$(cd "$(dirname "$klogd")" && pwd)/$(basename "$klogd")
tools=$(cd "$tools" && pwd)
mkdir -p "$work"
work=$(cd "$work" && pwd)
[ -n "$vm_cache" ] || vm_cache=$work/vm-cache
if [ -z "$prev_klogd$prev_tools" ] && [ -n "${KLOGD_BENCH_PREVIOUS:-}" ]; then
    prev_klogd=$KLOGD_BENCH_PREVIOUS/klogd/klogd
    prev_tools=$KLOGD_BENCH_PREVIOUS/tests/bench
fi
prev_label=''
if [ -n "$prev_klogd$prev_tools" ]; then
    [ -x "$prev_klogd" ] && [ -x "$prev_tools/symbols_bench" ] || {
        echo "run-bench.sh: --previous-klogd needs a klogd and --previous-tools a directory with symbols_bench" >&2; exit 2; }
    prev_klogd=$(cd "$(dirname "$prev_klogd")" && pwd)/$(basename "$prev_klogd")
    prev_tools=$(cd "$prev_tools" && pwd)
    # The commit the previous klogd was built from, when its build tree lies in a git work tree.
    prev_label=$(git -C "$(dirname "$prev_klogd")" rev-parse --short HEAD 2>/dev/null || echo build)
fi

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

# time_once CMD...: wall seconds of one run of CMD; $PREP (if set) runs before it, untimed
# (e.g. to remove an output file klogd would append to).
time_once() {
    local start end
    [ -z "${PREP:-}" ] || eval "$PREP"
    start=$EPOCHREALTIME
    "$@"
    end=$EPOCHREALTIME
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.6f\n", b - a }'
}

# time_cpu_once CMD...: "WALL CPU" of one run of CMD: wall seconds as time_once, and the user +
# system seconds of CMD and its children (bash's `time`: every thread of a process); CMD's own
# standard output and error are discarded.
time_cpu_once() {
    local start end cpu rc=0 TIMEFORMAT='%U %S'
    [ -z "${PREP:-}" ] || eval "$PREP"
    start=$EPOCHREALTIME
    # `time` writes to a file, not into a command substitution: no extra fork inside the timing.
    { time "$@" > /dev/null 2>&1; } 2> "$work/cpu-time" || rc=$?
    end=$EPOCHREALTIME
    [ "$rc" = 0 ] || say "$1 failed (exit $rc): its time is in the table all the same"
    cpu=$(cat "$work/cpu-time")
    [ -n "$cpu" ] || cpu='0 0'
    awk -v a="$start" -v b="$end" -v c="$cpu" 'BEGIN { split(c, t, " "); printf "%.6f %.6f\n", b - a, t[1] + t[2] }'
}

# time_median CMD...: wall seconds of CMD, median of $RUNS runs (time_once each).
time_median() {
    local i
    for ((i = 0; i < RUNS; i++)); do time_once "$@"; done | median
}

# ratio_median A_LIST B_LIST: the median over rounds of A[i] / B[i] (lists of the same length,
# one figure per line, round by round).
ratio_median() {
    paste <(printf '%s\n' "$1") <(printf '%s\n' "$2") |
        awk '{ printf "%.6f\n", $1 / $2 }' | median | awk '{ printf "%.2f", $1 }'
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
    # The I/O floor of the symbols row (issue 18): reading its input and writing its output's
    # bytes into a new file in the same place, both by cat. Its output is made once, first.
    local sym_out=$work/out-symbols.txt copy=$work/out-copy.txt out_mb expanded
    rm -f "$sym_out"
    "$klogd" -o --source="$kmsg" -f "$sym_out" --format=traditional "${sym[@]}"
    out_mb=$(awk -v b="$(stat -c %s "$sym_out")" 'BEGIN { printf "%.0f", b / 1048576 }')
    expanded=$(grep -Ec '(\[<[0-9a-f]+>\]|RIP: 0010:0x[0-9a-f]+) [A-Za-z0-9_.]+\+0x[0-9a-f]+/0x' "$sym_out" || true)
    # The reading-alone bound must have read every record (a failed read would look fast).
    local read_check
    read_check=$("$tools/replay_read_bench" "$kmsg" 2>&1) || true
    [[ $read_check == "records=$RECORDS "* ]] ||
        say "replay_read_bench did not read the $RECORDS records: $read_check"
    say "timing cat, the I/O floor, klogd, dmesg -F ($RUNS rounds, each contender once a round)"
    # One line per round in each list.
    local l_cat_k='' l_cat_r='' l_floor='' l_k='' l_kcpu='' l_r='' l_kx='' l_rx='' l_dm='' l_read='' i w c
    for ((i = 0; i < RUNS; i++)); do
        l_cat_k+=$(time_once sh -c 'cat "$1" > /dev/null' sh "$kmsg")$'\n'
        l_cat_r+=$(time_once sh -c 'cat "$1" > /dev/null' sh "$raw")$'\n'
        PREP="rm -f $copy"
        l_floor+=$(time_once sh -c 'cat "$1" > /dev/null && cat "$2" > "$3"' sh "$kmsg" "$sym_out" "$copy")$'\n'
        PREP="rm -f $out"
        read -r w c < <(time_cpu_once "$klogd" -o --source="$kmsg" -f "$out" --format=traditional "${sym[@]}") || true
        l_k+=$w$'\n' l_kcpu+=$c$'\n'
        l_r+=$(time_once "$klogd" -o --source="$raw" -f "$out" --format=traditional "${sym[@]}")$'\n'
        l_kx+=$(time_once "$klogd" -o --source="$kmsg" -f "$out" --format=traditional -x)$'\n'
        l_rx+=$(time_once "$klogd" -o --source="$raw" -f "$out" --format=traditional -x)$'\n'
        l_dm+=$(time_once sh -c 'dmesg -F "$1" > "$2"' sh "$raw" "$out")$'\n'
        unset PREP
        l_read+=$(time_once sh -c '"$1" "$2" > /dev/null' sh "$tools/replay_read_bench" "$kmsg")$'\n'
    done
    rm -f "$out" "$copy" "$sym_out"
    l_cat_k=${l_cat_k%$'\n'} l_cat_r=${l_cat_r%$'\n'} l_floor=${l_floor%$'\n'} l_k=${l_k%$'\n'}
    l_r=${l_r%$'\n'} l_kx=${l_kx%$'\n'} l_rx=${l_rx%$'\n'} l_dm=${l_dm%$'\n'}
    l_kcpu=${l_kcpu%$'\n'} l_read=${l_read%$'\n'}
    local t_cat_k t_cat_r t_floor t_k t_r t_kx t_rx t_dm t_kcpu t_read cpus l_best
    t_kcpu=$(median <<<"$l_kcpu") t_read=$(median <<<"$l_read")
    # The least wall time the symbols row's CPU time allows on this machine's CPUs (all of them
    # busy all the time), round by round.
    cpus=$(nproc)
    l_best=$(awk -v n="$cpus" '{ printf "%.6f\n", $1 / n }' <<<"$l_kcpu")
    t_cat_k=$(median <<<"$l_cat_k") t_cat_r=$(median <<<"$l_cat_r") t_floor=$(median <<<"$l_floor")
    t_k=$(median <<<"$l_k") t_r=$(median <<<"$l_r") t_kx=$(median <<<"$l_kx") t_rx=$(median <<<"$l_rx")
    t_dm=$(median <<<"$l_dm")

    local n=$RECORDS
    row throughput "\`cat\` kmsg form (${kmsg_mb} MiB) > /dev/null" "$(fmt_rate "$n" "$t_cat_k") ($(secs "$t_cat_k"))" "" ""
    row throughput "I/O floor: \`cat\` kmsg form > /dev/null, then \`cat\` of klogd's output (${out_mb} MiB) > new file" "$(fmt_rate "$n" "$t_floor") ($(secs "$t_floor"))" "" ""
    row throughput "\`cat\` dmesg -r form (${raw_mb} MiB, $lines lines) > /dev/null" "$(fmt_rate "$n" "$t_cat_r") ($(secs "$t_cat_r"))" "" ""
    row throughput "klogd -o, kmsg form → file, traditional, symbols ($addr address records, $expanded lines expanded)" \
        "$(fmt_rate "$n" "$t_k") ($(secs "$t_k"))" "**$(ratio_median "$l_dm" "$l_k")× dmesg -F**; **$(ratio_median "$l_k" "$l_floor")× the I/O floor**" "≥ 10× dmesg -F; ≤ 3× the floor"
    row throughput "the same klogd -o run's CPU time (user + system, all its threads)" \
        "$(secs "$t_kcpu") on $cpus CPUs: at least $(secs "$(awk -v c="$t_kcpu" -v n="$cpus" 'BEGIN { print c / n }')") of wall time" \
        "that least wall time: $(ratio_median "$l_best" "$l_floor")× the I/O floor" "(a bound: ≤ 3× needs less CPU time)"
    row throughput "reading alone: \`replay_read_bench\` (the kmsg form read and decoded as klogd -o does, records counted, no output)" \
        "$(fmt_rate "$n" "$t_read") ($(secs "$t_read"))" "$(ratio_median "$l_read" "$l_floor")× the I/O floor" "(a bound for any replay)"
    row throughput "klogd -o, dmesg -r form → file, traditional, symbols" \
        "$(fmt_rate "$n" "$t_r") ($(secs "$t_r"))" "**$(ratio_median "$l_dm" "$l_r")× dmesg -F** (same input, same file)" "≥ 10× dmesg -F"
    row throughput "klogd -o -x (no symbols), kmsg form → file" "$(fmt_rate "$n" "$t_kx") ($(secs "$t_kx"))" "$(ratio_median "$l_dm" "$l_kx")× dmesg -F" ""
    row throughput "klogd -o -x (no symbols), dmesg -r form → file" "$(fmt_rate "$n" "$t_rx") ($(secs "$t_rx"))" "$(ratio_median "$l_dm" "$l_rx")× dmesg -F" ""
    row throughput "\`dmesg -F\` dmesg -r form → file (util-linux $(dmesg --version | awk '{print $NF}'))" "$(fmt_rate "$n" "$t_dm") ($(secs "$t_dm"))" "1.00" "reference"
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
# with_previous CURRENT_ROWS PREVIOUS_ROWS: each current row, and below it the previous row of
# the same benchmark (same "what" once its figures are blanked), relabelled ("same", with its
# own parenthesis when its figures there differ, e.g. the symbols stored), with the current
# figure over the previous one in the ratio column ("2.00× faster": ms rows compare times, /s
# rows rates).
with_previous() {
    awk -v label="$prev_label" -v prev_file="$2" '
        function key(what) { gsub(/[0-9][0-9.,]*/, "#", what); return what }
        function cell(s) { gsub(/^ +| +$/, "", s); return s }
        BEGIN {
            while ((getline line < prev_file) > 0) {
                n = split(line, f, "|")
                if (n >= 6) prev[key(cell(f[3]))] = line
            }
        }
        {
            print
            n = split($0, f, "|")
            k = key(cell(f[3]))
            if (!(k in prev)) next
            split(prev[k], p, "|")
            cur = cell(f[4]); old = cell(p[4])
            split(cur, cv, " "); split(old, ov, " ")
            cmp = ""
            if (cv[1] + 0 > 0 && ov[1] + 0 > 0) {
                if (cv[2] == "ms") r = ov[1] / cv[1]; else r = cv[1] / ov[1]
                cmp = sprintf("; current %.2f× %s", r >= 1 ? r : 1 / r, r >= 1 ? "faster" : "slower")
            }
            what = "same"
            if (cell(p[3]) != cell(f[3]) && (i = index(cell(p[3]), " (")) > 0)
                what = what substr(cell(p[3]), i)
            printf "| %s | ↳ previous (%s): %s | %s | previous: %s%s | %s |\n", cell(p[2]), label,
                what, old, cell(p[5]), cmp, cell(p[6])
        }' "$1"
}
# median_rows FILE...: rows of several runs of one benchmark program; for each row (in the order
# of the first run) the one of the run whose figure (the result's first number) is the median.
median_rows() {
    awk '
        function key(what) { gsub(/[0-9][0-9.,]*/, "#", what); return what }
        {
            if (split($0, f, "|") < 6) next
            k = key(f[3])
            if (!(k in count)) { order[++keys] = k; count[k] = 0 }
            c = ++count[k]
            line[k, c] = $0
            split(f[4], v, " ")
            value[k, c] = v[1] + 0
        }
        END {
            for (i = 1; i <= keys; i++) {
                k = order[i]; c = count[k]
                for (a = 1; a <= c; a++) idx[a] = a
                for (a = 2; a <= c; a++) {
                    t = idx[a]
                    for (b = a - 1; b >= 1 && value[k, idx[b]] > value[k, t]; b--) idx[b + 1] = idx[b]
                    idx[b + 1] = t
                }
                print line[k, idx[int((c + 1) / 2)]]
            }
        }' "$@"
}
symbols() {
    # This machine's /proc/kallsyms too (issue 16): load, read floor, regular-file copy, lookups.
    local args=("$kallsyms" "$data/symbols/System.map-6.1.0-56-amd64" "$modules")
    [ ! -r /proc/kallsyms ] || args+=(/proc/kallsyms /proc/modules)
    # With a previous version: BENCH_SYMBOLS_ROUNDS (default 3) rounds, the two programs in
    # turn, so a slow spell of the machine (a VM's neighbours) falls on both; each row is then
    # the median round's.
    local rounds=${BENCH_SYMBOLS_ROUNDS:-1} i current=() previous=()
    [ -z "$prev_tools" ] || rounds=${BENCH_SYMBOLS_ROUNDS:-3}
    for ((i = 0; i < rounds; i++)); do
        say "symbols_bench (round $((i + 1)) of $rounds)"
        "$tools/symbols_bench" "${args[@]}" | grep '^|' > "$work/symbols.$i.rows"
        current+=("$work/symbols.$i.rows")
        if [ -n "$prev_tools" ]; then
            say "symbols_bench of the previous version ($prev_label; round $((i + 1)) of $rounds)"
            "$prev_tools/symbols_bench" "${args[@]}" | grep '^|' > "$work/symbols.previous.$i.rows" || true
            previous+=("$work/symbols.previous.$i.rows")
        fi
    done
    median_rows "${current[@]}" > "$work/symbols.rows"
    if [ -n "$prev_tools" ]; then
        median_rows "${previous[@]}" > "$work/symbols.previous.rows"
        with_previous "$work/symbols.rows" "$work/symbols.previous.rows" | tee -a "$rows" >&2
    else
        tee -a "$rows" < "$work/symbols.rows" >&2
    fi
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
# idle_daemon BIN NAME SECS ARGS...: start BIN -n ARGS (a klogd), let it settle, sample memory
# (2 s after the start) and wake-ups (SECS seconds, from just after the cursor's first save
# after the start's; none when SECS is 0); prints
# "VmRSS VmHWM switches records threads RssAnon" (kB, counts) or "failed"
idle_daemon() {
    local bin=$1 name=$2 secs=$3
    shift 3
    local dir=$work/idle-$name
    rm -rf "$dir"
    mkdir -p "$dir"
    "$bin" -n -f "$dir/out.log" --pidfile="$dir/pid" --state-file="$dir/state" "$@" 2>"$dir/stderr" &
    local pid=$!
    sleep 2
    if ! kill -0 "$pid" 2>/dev/null; then
        say "klogd ($name) exited: $(cat "$dir/stderr")"
        echo "failed"
        return
    fi
    local rss hwm anon s0 s1 l0 l1 threads
    rss=$(status_field "$pid" VmRSS)
    hwm=$(status_field "$pid" VmHWM)
    anon=$(status_field "$pid" RssAnon)
    threads=$(status_field "$pid" Threads)
    # Wake-ups are counted once the start is over: 5 s after the backlog was read, a daemon
    # fsyncs its outputs and saves the cursor once (read_loop's fsync timer), then sleeps. The
    # cursor saved at the start is there by now: wait (at most 15 s) until it is saved again.
    if [ "$secs" != 0 ]; then
        local saved i
        saved=$(stat -c %y "$dir/state" 2>/dev/null || echo none)
        for ((i = 0; i < 150; i++)); do
            [ "$(stat -c %y "$dir/state" 2>/dev/null || echo none)" = "$saved" ] || break
            sleep 0.1
        done
        sleep 0.5
    fi
    l0=$(wc -l < "$dir/out.log")
    s0=$(switches "$pid")
    sleep "$secs"
    s1=$(switches "$pid")
    l1=$(wc -l < "$dir/out.log")
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    echo "$rss $hwm $((s1 - s0)) $((l1 - l0)) $threads $anon"
}
# mib KB -> "3.5 MiB"
mib() { awk -v a="$1" 'BEGIN { printf "%.1f MiB", a / 1024 }'; }
# memory_result ANON HWM RSS -> the result cell of a memory row
memory_result() { echo "RssAnon $(mib "$1") / VmHWM $(mib "$2") (VmRSS $(mib "$3"))"; }
# memory_ratio ANON HWM RSS symbols|nosymbols -> the ratio cell: figures against the targets
# (issue 16's RssAnon and VmHWM with symbol tables, VmRSS < 10 MiB), > 1 = better
memory_ratio() {
    if [ "$4" = symbols ]; then
        echo "RssAnon $(ratio 4096 "$1"), VmHWM $(ratio 12288 "$2"), VmRSS $(ratio 10240 "$3") x target"
    else
        echo "VmRSS $(ratio 10240 "$3") x target"
    fi
}
# previous_memory_row WHAT ANON HWM RSS KIND ARGS...: the previous klogd idle with ARGS, in a row
# right below the current one (ANON HWM RSS: the current klogd's figures; KIND as memory_ratio)
previous_memory_row() {
    local what=$1 anon=$2 hwm=$3 rss=$4 kind=$5 r p_rss p_hwm p_wake p_lines p_threads p_anon
    shift 5
    [ -n "$prev_klogd" ] || return 0
    say "the same with the previous klogd ($prev_label)"
    r=$(idle_daemon "$prev_klogd" previous 0 "$@")
    if [ "$r" = failed ]; then
        row footprint "↳ previous ($prev_label): $what" "failed: see $work/idle-previous/stderr" "" ""
        return 0
    fi
    read -r p_rss p_hwm p_wake p_lines p_threads p_anon <<<"$r"
    row footprint "↳ previous ($prev_label): $what" "$(memory_result "$p_anon" "$p_hwm" "$p_rss")" \
        "previous: $(memory_ratio "$p_anon" "$p_hwm" "$p_rss" "$kind"); current/previous: RssAnon $(ratio "$anon" "$p_anon"), VmHWM $(ratio "$hwm" "$p_hwm"), VmRSS $(ratio "$rss" "$p_rss")" ""
}
footprint() {
    local secs=${BENCH_IDLE_SECS:-10} r rss hwm wake lines threads anon what
    say "idle daemon on /dev/kmsg with symbols from /proc/kallsyms (${secs} s)"
    r=$(idle_daemon "$klogd" kmsg "$secs")
    if [ "$r" != failed ]; then
        read -r rss hwm wake lines threads anon <<<"$r"
        # Issue 16: RssAnon (the heap: the symbol tables) and VmHWM (the peak, during the load).
        what="idle \`klogd -n -f FILE\` on /dev/kmsg, symbols from /proc/kallsyms ($(grep -c . /proc/kallsyms) lines)"
        row footprint "$what: RssAnon / VmHWM (VmRSS)" "$(memory_result "$anon" "$hwm" "$rss")" \
            "$(memory_ratio "$anon" "$hwm" "$rss" symbols)" "RssAnon ≤ 4 MiB, VmHWM ≤ 12 MiB (VmRSS < 10 MiB)"
        previous_memory_row "same" "$anon" "$hwm" "$rss" symbols
        row footprint "wake-ups, /dev/kmsg, quiet kernel ($secs s, $threads thread(s), $lines records meanwhile)" \
            "$(awk -v w="$wake" -v s="$secs" 'BEGIN { printf "%.1f /s (%d context switches)", w / s, w }')" "" "0 /s"
    fi
    r=$(idle_daemon "$klogd" kmsg-x 2 -x)
    if [ "$r" != failed ]; then
        read -r rss hwm wake lines threads anon <<<"$r"
        row footprint "idle \`klogd -n -x -f FILE\` on /dev/kmsg (no symbol tables): RssAnon / VmHWM (VmRSS)" \
            "$(memory_result "$anon" "$hwm" "$rss")" \
            "$(memory_ratio "$anon" "$hwm" "$rss" nosymbols)" "VmRSS < 10 MiB"
        previous_memory_row "same, -x" "$anon" "$hwm" "$rss" nosymbols -x
    fi
    say "idle daemon on a FIFO standing in for /proc/kmsg (${secs} s)"
    local fifo=$work/kmsg.fifo
    rm -f "$fifo"
    mkfifo "$fifo"
    exec 9<>"$fifo"   # a writer that never writes: the reader sees no EOF
    r=$(idle_daemon "$klogd" proc "$secs" -x --source=proc:"$fifo")
    exec 9>&-
    rm -f "$fifo"
    if [ "$r" != failed ]; then
        read -r rss hwm wake lines threads anon <<<"$r"
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
