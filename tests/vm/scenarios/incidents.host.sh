# klogd as the inittab daemon with --incident-dir: a WARN_ON of the test module, a hung
# kernel thread, an OOM kill and the module's Oops (twice) each become one
# incident: one record of klogd's own in the output (raw: <PRI,klogd>) and, reported in
# full, one JSON file in the incident directory. The repeat of the Oops is counted (2), not
# reported in full again.
KLOGD_EXTRA_ARGS="--incident-dir=/var/lib/klogd/incidents --metrics-file=/run/klogd.prom --metrics-interval=1"
source "$VM_SRC_DIR/scenarios/common/daemon.host.sh"
VM_TIMEOUT=240

# json_files KIND: the incident files of that kind
json_files() { grep -l "\"kind\":\"$1\"" incidents/*.json 2>/dev/null; }

check() {
    expect_result incidents.tar "$KERNLOG" || return
    rm -rf incidents && tar -xf incidents.tar || { fail "incidents.tar does not unpack"; return; }
    local n
    # Exactly one summary line per incident; the second Oops is a repeat with count 2.
    n=$(grep -c '^<[0-9]*,klogd>klogd: incident oops: ' "$KERNLOG")
    [ "$n" = 1 ] || fail "expected 1 full oops report, got $n"
    n=$(grep -c '^<[0-9]*,klogd>klogd: incident oops (repeat): ' "$KERNLOG")
    [ "$n" = 1 ] || fail "expected 1 repeat of the /proc Oops, got $n"
    expect_grep "$KERNLOG" '^<[0-9]*,klogd>klogd: incident oops \(repeat\): BUG: kernel NULL pointer dereference, address: 0+ in klogd_test_crash \[klogd_test_mod\] .*count 2, signature oops:klogd_test_crash\[klogd_test_mod\]<klogd_test_write\[klogd_test_mod\]<' "repeat of the Oops with count 2"
    for kind in warning hung_task oom_kill; do
        n=$(grep -c "^<[0-9]*,klogd>klogd: incident $kind: " "$KERNLOG")
        [ "$n" = 1 ] || fail "expected exactly 1 $kind incident, got $n"
    done
    # The files: one per full report.
    n=$(ls incidents/*.json 2>/dev/null | wc -l)
    [ "$n" = 4 ] || fail "expected 4 incident files (oops, warning, hung_task, oom_kill), got $n"
    local f
    for f in $(json_files oops); do
        grep -q '"function":"klogd_test_crash","module":"klogd_test_mod"' "$f" ||
            fail "$f: faulting function klogd_test_crash [klogd_test_mod] missing: $(head -c 600 "$f")"
        grep -Eq '"tainted":"[A-Z]*O[A-Z]*E' "$f" || fail "$f: taint OE missing"
        grep -q '"modules":\["klogd_test_mod"' "$f" || fail "$f: modules linked in missing"
        grep -q '"signature":"oops:klogd_test_crash\[klogd_test_mod\]<klogd_test_' "$f" || fail "$f: signature"
        grep -q '"partial":false' "$f" || fail "$f: partial"
    done
    f=$(json_files warning)
    grep -q '"function":"klogd_test_warn","module":"klogd_test_mod"' $f || fail "warning: function: $(head -c 600 $f)"
    grep -q '"location":"[^"]*klogd_test_mod.c:[0-9]*"' $f || fail "warning: location"
    f=$(json_files hung_task)
    grep -q '"comm":"klogd_hung"' $f || fail "hung_task: comm klogd_hung: $(head -c 600 $f)"
    grep -q '"blocked_seconds":2' $f || fail "hung_task: blocked_seconds"
    grep -q '"function":"klogd_hung_thread","module":"klogd_test_mod"' $f ||
        grep -q '{"function":"klogd_hung_thread","module":"klogd_test_mod","reliable":true}' $f ||
        fail "hung_task: frame klogd_hung_thread [klogd_test_mod]"
    f=$(json_files oom_kill)
    grep -q '"victim_comm":"dd"' $f || fail "oom_kill: victim dd: $(head -c 800 $f)"
    grep -q '"victim_pid":[0-9]' $f || fail "oom_kill: victim pid"
    # The kernel kept running after the WARN_ON and the Oopses.
    expect_grep "$KERNLOG" 'klogd-vm-mark end' "the end marker (kernel alive to the end)"
    expect_no_grep "$KERNLOG" 'missed [0-9]+ kernel messages' "daemon output (nothing may be lost here)"
    expect_no_grep "$KERNLOG" 'klogd: incident [a-z_]* .*\(partial' "daemon output (no partial incident)"
    # The metrics moved with them (the repeat of the Oops counts too).
    expect_grep metrics.prom '^klogd_incidents_total\{kind="oops"\} 2$' "klogd_incidents_total{kind=oops}"
    expect_grep metrics.prom '^klogd_incidents_total\{kind="oom_kill"\} 1$' "klogd_incidents_total{kind=oom_kill}"
    expect_grep metrics.prom '^klogd_incidents_total\{kind="warning"\} 1$' "klogd_incidents_total{kind=warning}"
    expect_grep metrics.prom '^klogd_last_incident_timestamp_seconds\{kind="oops"\} [0-9.e+]+$' "last oops time"
}
