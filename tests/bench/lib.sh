# Helpers shared by the benchmark scripts in tests/bench (sourced, not run).

# bench_size_bytes SIZE: the bytes of SIZE, in the syntax of scripts/memcg-run.sh
# (bytes, or a K/M/G/T suffix, 1024-based); fails on anything else.
bench_size_bytes() {
    [[ $1 =~ ^([0-9]+)([KkMmGgTt]?)(i?[Bb])?$ ]] || return 1
    local n=$((10#${BASH_REMATCH[1]}))
    case ${BASH_REMATCH[2]} in
        K|k) echo $((n << 10)) ;;
        M|m) echo $((n << 20)) ;;
        G|g) echo $((n << 30)) ;;
        T|t) echo $((n << 40)) ;;
        *) echo "$n" ;;
    esac
}

# bench_swamp_summary LOG: the figures of swamp-bpf's summary line in LOG (its
# stderr) as one line "STOPS HOLDS RESUMES DEADLOCK_RESUMES PEAK_TREE_RSS OOM_KILLS",
# a "-" for a figure not found; nothing at all when LOG has no summary line.
bench_swamp_summary() {
    local s
    s=$(grep -E '^swamp-bpf: (command exited|build root exited)' "$1" 2>/dev/null | tail -1) || true
    [[ -n $s ]] || return 0
    sed -nE 's/.* ([0-9]+) stops, ([0-9]+) holds at exec, ([0-9]+) resumes( \(([0-9]+) by the deadlock guard\))?.*peak tree RSS ([^,]+),.*OOM kills ([0-9]+).*/\1 \2 \3 \5 \6 \7/p' <<< "$s" |
        awk '{ if (NF == 5) $0 = $1 " " $2 " " $3 " 0 " $4 " " $5; print }'
}

# JSON values: bench_json_num V prints V or null, bench_json_str V prints "V" or null.
bench_json_num() { [[ -n ${1:-} ]] && echo "$1" || echo null; }
bench_json_str() { [[ -n ${1:-} ]] && printf '"%s"' "$1" || echo null; }

# bench_signal_traps: INT, TERM and HUP exit with 128 + the signal's number, so
# that the caller's EXIT trap (its clean-up) runs on them too.
bench_signal_traps() {
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
}

# bench_drop_logs KEEP DIR: remove the temp dir DIR, or when KEEP is 1 keep it
# and say where it is.
bench_drop_logs() {
    if (($1)) && [[ -d $2 ]]; then
        echo "logs kept in $2" >&2
    else
        rm -rf "$2"
    fi
}

# bench_first_repeat WORD...: print the first word given twice; fail if none is.
bench_first_repeat() {
    local -A seen=()
    local w
    for w; do
        [[ -n ${seen[$w]:-} ]] && { echo "$w"; return 0; }
        seen[$w]=1
    done
    return 1
}
