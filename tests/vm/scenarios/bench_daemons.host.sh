# bench_daemons: klogd, busybox klogd + syslogd and rsyslogd (imkmsg, imklog) side by side on
# the guest kernel: write-to-file latency, a flood (delivered, lost, CPU, memory), idle
# wake-ups. Run by `make bench` (tests/bench/run-bench.sh) only, never by ctest: it measures,
# it does not assert. check() turns the results into table rows (bench.rows).
#
# Environment: KLOGD_BENCH_TOOLS = the directory holding kmsg_tool (required);
# BENCH_LAT (default 200), BENCH_FLOOD (default 5000).
VM_NEEDS_KLOGD=1
VM_TIMEOUT=${BENCH_VM_TIMEOUT:-600}
VM_SYSINIT="echo on > /proc/sys/kernel/printk_devkmsg"
BENCH_LAT=${BENCH_LAT:-200}
BENCH_FLOOD=${BENCH_FLOOD:-5000}

[ -x "${KLOGD_BENCH_TOOLS:-}/kmsg_tool" ] ||
    vm_die "bench_daemons: set KLOGD_BENCH_TOOLS to the directory holding kmsg_tool (make bench does)"
mkdir -p "$VM_CACHE/bench"
printf 'BENCH_LAT=%s\nBENCH_FLOOD=%s\n' "$BENCH_LAT" "$BENCH_FLOOD" > "$VM_CACHE/bench/bench.env"
VM_FILES=("$KLOGD_BENCH_TOOLS/kmsg_tool:/vm/bin/kmsg_tool" "$VM_CACHE/bench/bench.env:/vm/bench.env")

# rsyslogd is a dynamically linked Debian binary: ship it with its input modules and every
# library ldd names (the busybox initramfs has none), at the same paths.
RSYSLOG_MODDIR=/usr/lib/x86_64-linux-gnu/rsyslog
if [ -x /usr/sbin/rsyslogd ]; then
    rsyslog_bins=(/usr/sbin/rsyslogd)
    for m in imkmsg imklog lmnet lmnetstrms lmregexp lmzlibw; do
        [ -f "$RSYSLOG_MODDIR/$m.so" ] && rsyslog_bins+=("$RSYSLOG_MODDIR/$m.so")
    done
    for b in "${rsyslog_bins[@]}"; do
        VM_FILES+=("$b:$b")
        while read -r lib; do
            [ -n "$lib" ] && VM_FILES+=("$lib:$lib")
        done < <(ldd "$b" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
    done
fi

# kv FILE KEY: the value of KEY=VALUE in FILE
kv() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" "$1" 2>/dev/null | head -n 1; }

check() {
    local rows=bench.rows c label status cpu_klogd=''
    : > "$rows"
    for c in klogd busybox rsyslog-imkmsg rsyslog-imklog; do
        case $c in
            klogd) label="klogd (/dev/kmsg, traditional, symbols)" ;;
            busybox) label="busybox klogd (syslog(2)) + syslogd -O FILE" ;;
            rsyslog-imkmsg) label="rsyslogd $(rsyslogd -v 2>/dev/null | awk 'NR == 1 {print $2}') imkmsg (/dev/kmsg)" ;;
            rsyslog-imklog) label="rsyslogd imklog (/proc/kmsg)" ;;
        esac
        status=$(cat "$c.status" 2>/dev/null || echo "no result (guest did not get this far)")
        if [ "$status" != ok ]; then
            printf '| guest | %s | %s | | |\n' "$label" "not measured: $status" >> "$rows"
            continue
        fi
        local got p50 p99 max delivered lost dups cpu rss wrate ratio=''
        got=$(kv "$c.latency" got)
        p50=$(kv "$c.latency" p50_us)
        p99=$(kv "$c.latency" p99_us)
        max=$(kv "$c.latency" max_us)
        delivered=$(kv "$c.count" delivered)
        lost=$(kv "$c.count" lost)
        dups=$(kv "$c.count" duplicates)
        wrate=$(kv "$c.flood" rate)
        cpu=$(cat "$c.cpu")
        rss=$(cat "$c.rss")
        [ "$c" = klogd ] && cpu_klogd=$cpu
        if [ -n "$cpu_klogd" ] && [ "$c" != klogd ]; then
            ratio=$(awk -v a="$cpu" -v b="$cpu_klogd" 'BEGIN { if (b > 0) printf "CPU %.1f× klogd'"'"'s", a / b; else printf "klogd used < 10 ms" }')
        fi
        printf '| guest | %s: write → line in file, %s writes 10 ms apart | p50 %s µs, p99 %s µs, max %s µs (%s/%s seen) | | |\n' \
            "$label" "$BENCH_LAT" "$p50" "$p99" "$max" "$got" "$BENCH_LAT" >> "$rows"
        printf '| guest | %s: flood of %s records (%s/s written) | delivered %s, lost %s, duplicated %s; CPU %s ms; RssAnon %s kB | %s | nothing lost |\n' \
            "$label" "$BENCH_FLOOD" "$wrate" "$delivered" "$lost" "$dups" "$cpu" \
            "$rss" "$ratio" >> "$rows"
    done
    local s secs rec
    for c in kmsg syscall; do
        s=$(kv "idle.$c" switches)
        secs=$(kv "idle.$c" seconds)
        rec=$(kv "idle.$c" records)
        [ -n "$s" ] || { printf '| guest | idle klogd (%s) | not measured | | |\n' "$c" >> "$rows"; continue; }
        if [ "$c" = kmsg ]; then
            label="idle klogd on /dev/kmsg: wake-ups ($secs s, quiet guest kernel, $rec records meanwhile)"
            status="0 /s"
        else
            label="idle klogd -s (syscall backend, polls syslog(2)): wake-ups ($secs s, $rec records meanwhile)"
            status="its poll interval"
        fi
        printf '| guest | %s | %s | | %s |\n' "$label" \
            "$(awk -v w="$s" -v t="$secs" 'BEGIN { printf "%.1f /s (%d context switches)", w / t, w }')" "$status" >> "$rows"
    done
    note "table rows:"
    cat "$rows"
}
