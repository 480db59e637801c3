# Shared host part of module_events and module_events_tstp: every raw address the test
# module printed (raw#N lines, the "about to oops in [<A>] called from [<B>]" line) is
# expanded in the daemon's output exactly as the kernel's own %pS on the line after it
# (sym#N, "about to oops in SYM called from SYM"), each time the module was loaded.
source "$VM_SRC_DIR/scenarios/common/daemon.host.sh"

# expect_all_resolved FILE COUNT: COUNT raw/%pS pairs (raw#N and about-to-oops lines), each
# raw address followed by exactly the kernel's %pS text.
expect_all_resolved() {
    local file=$1 want=$2 pairs=0 ok=0 raw sym
    expect_result "$file" || return 1
    grep -E 'klogd_test_mod: (raw#[0-9]+ mod \[<|sym#[0-9]+ mod |about to oops in )' "$file" |
        sed -E 's/^<[0-9,a-z]+>\[ *[0-9.]+\] //' > pairs.txt
    while IFS= read -r raw && IFS= read -r sym; do
        pairs=$((pairs + 1))
        local want_line
        case $raw in
            *"raw#"*)
                # raw#N mod [<A>] core [<B>]  /  sym#N mod S1 core S2
                local a b s1 s2
                a=$(sed -nE 's/.*raw#[0-9]+ mod \[<([0-9a-f]+)>\].*/\1/p' <<<"$raw")
                b=$(sed -nE 's/.* core \[<([0-9a-f]+)>\].*/\1/p' <<<"$raw")
                s1=$(sed -nE 's/.* mod (.*) core .*/\1/p' <<<"$sym")
                s2=$(sed -nE 's/.* core (.*)$/\1/p' <<<"$sym")
                want_line="[<$a>] $s1 core [<$b>] $s2" ;;
            *)
                local a b s1 s2
                a=$(sed -nE 's/.*about to oops in \[<([0-9a-f]+)>\].*/\1/p' <<<"$raw")
                b=$(sed -nE 's/.* called from \[<([0-9a-f]+)>\].*/\1/p' <<<"$raw")
                s1=$(sed -nE 's/.*about to oops in (.*) called from .*/\1/p' <<<"$sym")
                s2=$(sed -nE 's/.* called from (.*)$/\1/p' <<<"$sym")
                want_line="[<$a>] $s1 called from [<$b>] $s2" ;;
        esac
        if [[ "$raw" == *"$want_line"* ]]; then
            ok=$((ok + 1))
        else
            fail "not resolved as the kernel's %pS: want '$want_line' in: $raw"
        fi
    done < pairs.txt
    note "$ok of $pairs raw/%pS pairs resolved as the kernel does"
    [ "$pairs" = "$want" ] || fail "expected $want raw/%pS pairs in $file, found $pairs"
}
