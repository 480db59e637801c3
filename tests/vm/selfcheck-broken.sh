#!/usr/bin/env bash
# The vm suite's self-check: run the daemon_order scenario with a klogd that silently loses
# every second write to its output file (klogd_broken.cpp). The scenario must fail, and its message must name the scenario and say what
# differed (the missing records). Exit 0 only if the suite caught the broken klogd.
set -uo pipefail
cache=$1
broken=$2
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if bash "$here/vm-run.sh" --cache "$cache" --klogd "$broken" daemon_order >"$out" 2>&1; then
    echo "SELF-CHECK FAILED: daemon_order passed with a klogd that loses every second write"
    tail -50 "$out"
    exit 1
fi
if ! grep -q 'daemon_order' "$out" || ! grep -Eqi 'missing|lost|differ|not delivered' "$out"; then
    echo "SELF-CHECK FAILED: daemon_order failed, but its message does not name the scenario and what differed:"
    tail -50 "$out"
    exit 1
fi
echo "self-check ok: the broken klogd was caught:"
grep -m3 -E 'FAIL|missing|lost|differ|not delivered' "$out"
exit 0
