#!/bin/bash
# unpack-syslog-ng.sh DIR
#
# Puts a runnable syslog-ng in DIR for the network tests (make test runs this before ctest).
# syslog-ng-core conflicts with rsyslog as an installed package, and the tests need both, so
# syslog-ng is not installed: apt-get download fetches syslog-ng-core together with every
# package it needs that this system lacks (the closure apt itself computes for installing it,
# at the versions it would install), and dpkg-deb unpacks them into DIR/root. ldd then checks
# that the binary, its library and every module find all their libraries in DIR/root or on
# the system, and syslog-ng -V must run.
#
# On success DIR/env names what the tests use (read by tests/support/syslog_receiver.cpp):
#   SYSLOG_NG=...  SYSLOG_NG_MODULE_PATH=...  LD_LIBRARY_PATH=...
# Idempotent: when DIR/env exists and the check still passes, nothing is downloaded.
# Needs apt-get, dpkg-deb and ldd (all in a minimal Debian); apt-get update needs root.
set -euo pipefail

die() {
    echo "unpack-syslog-ng: error: $*" >&2
    exit 1
}
[ $# -eq 1 ] || die "usage: unpack-syslog-ng.sh DIR"
mkdir -p "$1"
dir=$(cd "$1" && pwd)
for tool in apt-get apt-cache dpkg-deb ldd; do
    command -v "$tool" >/dev/null || die "'$tool' not found (a Debian system has it)"
done

# paths ROOT: sets sbin, moddir (the versioned module directory) and libpath (every directory
# under ROOT holding a versioned shared library; the modules themselves are unversioned .so).
paths() {
    sbin=$1/usr/sbin/syslog-ng
    moddir=$(find "$1/usr/lib/syslog-ng" -mindepth 1 -maxdepth 1 -type d -name '[0-9]*' 2>/dev/null | head -n1)
    libpath=$(find "$1" -name '*.so.[0-9]*' -printf '%h\n' 2>/dev/null | sort -u | paste -sd:)
}

# check ROOT: prints what is wrong; nothing when syslog-ng is complete and runs.
check() {
    local missing
    paths "$1"
    [ -x "$sbin" ] || { echo "$sbin missing"; return; }
    [ -n "$moddir" ] || { echo "no module directory in $1/usr/lib/syslog-ng"; return; }
    missing=$(for f in "$sbin" $(find "$1" -type f \( -name '*.so' -o -name '*.so.*' \)); do
        LD_LIBRARY_PATH=$libpath ldd "$f" 2>&1 | awk -v f="${f#"$1"/}" '/not found/ {print $1 " (" f ")"}'
    done | sort -u -k1,1 | paste -sd' ')
    [ -z "$missing" ] || echo "libraries not found (needed by, for one): $missing"
    LD_LIBRARY_PATH=$libpath "$sbin" --module-path="$moddir" -V >/dev/null 2>&1 ||
        echo "syslog-ng -V failed: $(LD_LIBRARY_PATH=$libpath "$sbin" --module-path="$moddir" -V 2>&1 | tail -n3)"
}

if [ -f "$dir/env" ] && [ -z "$(check "$dir/root")" ]; then
    echo "unpack-syslog-ng: ready in $dir (nothing downloaded)"
    exit 0
fi
rm -f "$dir/env"

# closure: the packages apt would install for syslog-ng-core without recommends, as NAME=VERSION
# (it would also remove rsyslog: only simulated here); syslog-ng-core itself always.
closure() {
    local sim
    sim=$(LC_ALL=C apt-get install -s -q --no-install-recommends syslog-ng-core 2>&1) ||
        die "apt-get install -s syslog-ng-core failed:"$'\n'"$sim"
    pkgs=$(awk '/^Inst / {v = $3; if (v ~ /^\[/) v = $4; sub(/^\(/, "", v); print $2 "=" v}' <<<"$sim" |
        paste -sd' ')
    [[ " $pkgs" == *" syslog-ng-core="* ]] || pkgs="$pkgs syslog-ng-core"
    pkgs=${pkgs# }
}
update_once() {
    [ "$(id -u)" -eq 0 ] || die "$1 and this is not root: run 'apt-get update' (as root)"
    echo "unpack-syslog-ng: $1: apt-get update"
    apt-get update -qq || die "apt-get update failed"
}
download() {
    rm -rf "$dir/debs" && mkdir -p "$dir/debs"
    echo "unpack-syslog-ng: apt-get download $pkgs"
    (cd "$dir/debs" && apt-get download -q $pkgs 2>&1 | grep -v '^W: Download is performed unsandboxed') || true
    [ "$(find "$dir/debs" -name '*.deb' | wc -l)" -eq "$(wc -w <<<"$pkgs")" ]
}

apt-cache show syslog-ng-core >/dev/null 2>&1 || update_once "apt knows no syslog-ng-core"
closure
if ! download; then
    # Package lists older than the mirror (a version gone from it): update once, compute again.
    update_once "apt-get download failed"
    closure
    download || die "apt-get download $pkgs failed (see above)"
fi
rm -rf "$dir/root.tmp"
for deb in "$dir/debs"/*.deb; do
    dpkg-deb -x "$deb" "$dir/root.tmp" || die "dpkg-deb -x $deb failed"
done
problems=$(check "$dir/root.tmp")
[ -z "$problems" ] || die "syslog-ng unpacked from $pkgs is incomplete:"$'\n'"$problems"
rm -rf "$dir/root"
mv "$dir/root.tmp" "$dir/root"
paths "$dir/root"
printf 'SYSLOG_NG=%s\nSYSLOG_NG_MODULE_PATH=%s\nLD_LIBRARY_PATH=%s\n' "$sbin" "$moddir" "$libpath" \
    >"$dir/env.tmp"
mv "$dir/env.tmp" "$dir/env"
echo "unpack-syslog-ng: ready in $dir: $(wc -w <<<"$pkgs") packages unpacked"
