#!/usr/bin/env bash
# Outcome of one fake build (tests/fakebuild/Makefile.PROFILE) under a memory
# limit, side by side in one run, each variant in its own fresh output dir and
# its own fresh memory cgroup (scripts/memcg-run.sh; no swap, or with --swap sd
# an emulated SD card's swap):
#   j1            make -j1                                  (slow but fits)
#   jN            make -jN                                  (usually OOM-killed)
#   swamp-signal  swamp-bpf --action signal -- make -jN     (SIGSTOP/SIGCONT)
#   swamp-freeze  swamp-bpf --action freeze -- make -jN     (cgroup v2 freeze)
#   swamp-hist1   swamp-bpf --action signal --history-db DB -- make -jN, with
#                 a fresh, empty history DB: reactive, and it fills DB
#   swamp-hist2   the same again with that DB: jobs start with predictions
# swamp-signal and swamp-freeze run with --no-history (reactive only), so that
# no history from earlier runs on this machine changes them.
#   swamp-pageout    swamp-bpf --action signal --page-out on  -- make -jN
#   swamp-nopageout  swamp-bpf --action signal --page-out off -- make -jN
#                 (page-out of stopped jobs on and off, for the swap case;
#                 swamp-signal has the default, off)
# For each: wall time (measured here), exit status, OOM kills and peak usage of
# the cgroup, whether the Makefile's final targets (its `all:` line) exist, its
# major faults, MiB swapped in and out (host-wide /proc/vmstat deltas: another
# cgroup swapping at the same time counts too), and for swamp-bpf its stops,
# holds at exec and resumes, MiB paged out of stopped jobs, and the controller's own footprint: CPU-seconds
# per minute of build and peak RSS (all from its summary line).
#
# Lower bound on the wall time, from tests/fakebuild/profile-stats.sh:
#   LB = max(cpu_s / cores, mib_s / limit_mib, critical_path_s),  cores = nproc
# Each variant's ratio is wall / LB (1.00 would be perfect); the swamp
# variants' speedup is j1's wall / their wall (needs j1 among the variants).
#
# Usage: tests/bench/outcome.sh [--profile demo|pi|links] [--limit SIZE]
#            [--jobs N] [--variants LIST] [--swap none|sd] [--swap-size SIZE]
#            [--time-scale F] [--timeout S|xLB] [--trace-dir DIR]
#            [--json FILE] [--keep-logs]
#   --profile    fake build profile (default demo)
#   --limit      memory limit, e.g. 1100M (default per profile: demo 1100M,
#                pi 1500M, links 1300M: the limits where plain -j4 fails)
#   --jobs       N for the -jN variants (default 4)
#   --variants   comma-separated subset of j1,jN,swamp-signal,swamp-freeze,
#                swamp-hist1,swamp-hist2,swamp-pageout,swamp-nopageout
#                (default the first four, in that order; jN may also be given
#                as j<N>, e.g. j4; swamp-hist2 needs swamp-hist1 before it)
#   --swap       none (default): memory+swap limited to the limit, so going
#                past it is an OOM kill; sd: every variant may swap to a fresh
#                swap device throttled to a Pi's SD card, 20 MiB/s read and
#                10 MiB/s write (memcg-run.sh --swap-sd), so plain -jN can
#                live on by thrashing, slowly
#   --swap-size  size of that swap (default 2G)
#   --time-scale F  run every job F times as long (HOG_TIME_SCALE, same memory
#                shapes); the lower bound scales with it (default 1)
#   --timeout    end a variant still running after S seconds, or after that
#                many times the lower bound with an x suffix (e.g. 3x); it is
#                reported as timed out (not ok). Default: none
#   --trace-dir DIR  keep each swamp-bpf variant's JSON trace there, as
#                PROFILE-SWAP-VARIANT.jsonl (tests/bench/latency.sh --from
#                reads them)
#   --json FILE  also write the results as one JSON object to FILE
#   --keep-logs  keep the per-variant logs (memcg-run's and swamp-bpf's stderr)
#                instead of removing them at the end; their dir is printed
# Output goes to stdout; the builds' own output is discarded (make -s, stdout
# to /dev/null), their stderr goes to the per-variant log. Needs root and a
# build (cmake --build build -j2). Takes about as long as all variants' builds
# (demo: ~2 min, links: a few minutes, pi: ~10 min on 2 cores).
set -euo pipefail

prog=outcome.sh
die() { echo "$prog: $*" >&2; exit 2; }
usage() { sed -n '/^# Usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

cd "$(dirname "$0")/../.."
repo=$PWD
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh

# ---- arguments -------------------------------------------------------------------
profile=demo limit="" jobs=4 variants_arg="" json="" keep_logs=0 swap=none swap_size=2G
time_scale=1 timeout_arg="" trace_dir=""
while (($#)); do
    case $1 in
        --profile) (($# >= 2)) || die "--profile needs a value"; profile=$2; shift 2 ;;
        --profile=*) profile=${1#*=}; shift ;;
        --limit) (($# >= 2)) || die "--limit needs a value"; limit=$2; shift 2 ;;
        --limit=*) limit=${1#*=}; shift ;;
        --jobs|-j) (($# >= 2)) || die "--jobs needs a value"; jobs=$2; shift 2 ;;
        --jobs=*) jobs=${1#*=}; shift ;;
        --variants) (($# >= 2)) || die "--variants needs a value"; variants_arg=$2; shift 2 ;;
        --variants=*) variants_arg=${1#*=}; shift ;;
        --swap) (($# >= 2)) || die "--swap needs a value"; swap=$2; shift 2 ;;
        --swap=*) swap=${1#*=}; shift ;;
        --swap-size) (($# >= 2)) || die "--swap-size needs a value"; swap_size=$2; shift 2 ;;
        --swap-size=*) swap_size=${1#*=}; shift ;;
        --time-scale) (($# >= 2)) || die "--time-scale needs a value"; time_scale=$2; shift 2 ;;
        --time-scale=*) time_scale=${1#*=}; shift ;;
        --timeout) (($# >= 2)) || die "--timeout needs a value"; timeout_arg=$2; shift 2 ;;
        --timeout=*) timeout_arg=${1#*=}; shift ;;
        --trace-dir) (($# >= 2)) || die "--trace-dir needs a value"; trace_dir=$2; shift 2 ;;
        --trace-dir=*) trace_dir=${1#*=}; shift ;;
        --json) (($# >= 2)) || die "--json needs a value"; json=$2; shift 2 ;;
        --json=*) json=${1#*=}; shift ;;
        --keep-logs) keep_logs=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument '$1'" ;;
    esac
done

case $profile in
    demo) default_limit=1100M ;;
    pi) default_limit=1500M ;;
    links) default_limit=1300M ;;
    *) die "unknown profile '$profile' (demo, pi or links)" ;;
esac
limit=${limit:-$default_limit}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "bad --jobs '$jobs' (a positive integer)"
[[ $time_scale =~ ^[0-9]*\.?[0-9]+$ ]] && awk -v f="$time_scale" 'BEGIN { exit !(f > 0) }' ||
    die "bad --time-scale '$time_scale' (a number > 0)"
[[ -z $timeout_arg || $timeout_arg =~ ^[0-9]+(\.[0-9]+)?x?$ ]] ||
    die "bad --timeout '$timeout_arg' (seconds, or a multiple of the lower bound like 3x)"
if [[ -n $trace_dir ]]; then
    mkdir -p "$trace_dir" 2>/dev/null && [[ -w $trace_dir ]] || die "cannot write --trace-dir '$trace_dir'"
fi
swap_args=()
case $swap in
    none) ;;
    sd) swap_args=(--swap-sd "$swap_size") ;;   # memcg-run.sh checks the size
    *) die "bad --swap '$swap' (none or sd)" ;;
esac

# SIZE -> MiB (same syntax as scripts/memcg-run.sh: bytes or K/M/G/T, 1024-based)
limit_bytes=$(bench_size_bytes "$limit") || die "bad --limit '$limit' (e.g. 1100M, 2G)"
((limit_bytes > 0)) || die "--limit must be > 0"
limit_mib=$(awk -v b="$limit_bytes" 'BEGIN { printf "%.6g", b / 1048576 }')

variants=()
IFS=, read -r -a requested <<< "${variants_arg:-j1,jN,swamp-signal,swamp-freeze}"
for v in "${requested[@]}"; do
    [[ $v == "j$jobs" && $jobs != 1 ]] && v=jN
    case $v in
        j1|jN|swamp-signal|swamp-freeze|swamp-hist1|swamp-pageout|swamp-nopageout) ;;
        swamp-hist2) [[ " ${variants[*]} " == *" swamp-hist1 "* ]] || die "swamp-hist2 needs swamp-hist1 before it" ;;
        *) die "unknown variant '$v' (j1, jN, swamp-signal, swamp-freeze, swamp-hist1, swamp-hist2, swamp-pageout, swamp-nopageout)" ;;
    esac
    for w in "${variants[@]}"; do [[ $w == "$v" ]] && die "variant '$v' given twice"; done
    variants+=("$v")
done
((${#variants[@]})) || die "no variants given"

# ---- preconditions ------------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || { echo "$prog: must run as root (memory cgroups, BPF)" >&2; exit 3; }
swamp=$repo/build/userspace/swamp-bpf
hog=$repo/build/tests/fakebuild/hog
mk=$repo/tests/fakebuild/Makefile.$profile
memcg=$repo/scripts/memcg-run.sh
stats=$repo/tests/fakebuild/profile-stats.sh
need_swamp=0
for v in "${variants[@]}"; do [[ $v == swamp-* ]] && need_swamp=1; done
[[ -x $hog ]] || die "missing $hog: build first (cmake --build build -j2)"
((need_swamp == 0)) || [[ -x $swamp ]] || die "missing $swamp: build first (cmake --build build -j2)"
[[ -f $mk ]] || die "missing $mk"
[[ -x $memcg ]] || die "missing $memcg"
[[ -x $stats ]] || die "missing $stats"
command -v make >/dev/null || die "make not found"
if [[ -n $json ]]; then
    touch "$json" 2>/dev/null || die "cannot write --json file '$json'"
fi

# ---- temp dir, cleaned up on every exit path -------------------------------------------
tmp=$(mktemp -d /tmp/swamp-outcome.XXXXXX)
child=""
cleanup() {
    local rc=$?
    set +e    # a failing wait or rm must not end the cleanup early
    trap - EXIT INT TERM HUP
    if [[ -n $child ]] && kill -0 "$child" 2>/dev/null; then
        # memcg-run.sh forwards TERM to its cgroup and removes it
        kill -TERM "$child" 2>/dev/null
        wait "$child" 2>/dev/null
    fi
    rm -rf "$tmp/out"
    bench_drop_logs "$keep_logs" "$tmp"
    exit "$rc"
}
trap cleanup EXIT
bench_signal_traps
mkdir -p "$tmp/out" "$tmp/logs"

# ---- lower bound -------------------------------------------------------------------------
stat_line=$("$stats" "$mk") || die "profile-stats.sh failed on $mk"
pstat() {  # KEY -> value from the profile-stats.sh line
    local v
    v=$(tr ' ' '\n' <<< "$stat_line" | sed -n "s/^$1=//p")
    [[ -n $v ]] || die "profile-stats.sh printed no $1= ($stat_line)"
    echo "$v"
}
scaled() { awk -v v="$1" -v f="$time_scale" 'BEGIN { printf "%.6g", v * f }'; }
cpu_s=$(scaled "$(pstat cpu_s)")
cp_s=$(scaled "$(pstat critical_path_s)")
mib_s=$(scaled "$(pstat mib_s)")
njobs=$(pstat jobs)
cores=$(nproc)
read -r lb_cpu lb_mem lb <<< "$(awk -v c="$cpu_s" -v n="$cores" -v m="$mib_s" -v l="$limit_mib" -v p="$cp_s" '
    BEGIN { a = c / n; b = m / l; lb = a; if (b > lb) lb = b; if (p > lb) lb = p
            printf "%.3f %.3f %.3f\n", a, b, lb }')"

# Final targets: the prerequisites on the Makefile's `all:` line (with
# backslash continuations), $(OUT) left in for each variant to fill in.
mapfile -t all_targets < <(awk '
    /^all[ \t]*:/ { on = 1; sub(/^all[ \t]*:/, "") }
    on { cont = sub(/\\[ \t]*$/, ""); for (i = 1; i <= NF; i++) if ($i != "|") print $i; if (!cont) exit }
' "$mk")
((${#all_targets[@]})) || die "no targets on the all: line of $mk"

timeout_s=""
case $timeout_arg in
    "") ;;
    *x) timeout_s=$(awk -v k="${timeout_arg%x}" -v l="$lb" 'BEGIN { printf "%.0f", k * l + 0.5 }') ;;
    *) timeout_s=$timeout_arg ;;
esac

label() {
    case $1 in
        j1) echo "make -j1" ;;
        jN) echo "make -j$jobs" ;;
        swamp-signal) echo "swamp signal -j$jobs" ;;
        swamp-freeze) echo "swamp freeze -j$jobs" ;;
        swamp-hist1) echo "swamp 1st, new history" ;;
        swamp-hist2) echo "swamp 2nd, with history" ;;
        swamp-pageout) echo "swamp page-out -j$jobs" ;;
        swamp-nopageout) echo "swamp no page-out -j$jobs" ;;
    esac
}

swap_desc="no swap"; [[ $swap == sd ]] && swap_desc="swap $swap_size at SD-card speed"
echo "profile $profile ($njobs jobs), limit $limit (${limit_mib} MiB), $swap_desc, -j$jobs, $cores cores: $stat_line"
[[ $time_scale == 1 ]] || echo "time scale $time_scale: every job runs $time_scale times as long (HOG_TIME_SCALE)"
[[ -z $timeout_s ]] || echo "timeout: ${timeout_s} s per variant"
load_start=$(cut -d' ' -f1 /proc/loadavg)
echo "variants: ${variants[*]}; load average at start $load_start (timings assume an otherwise idle machine)"

# ---- run the variants ------------------------------------------------------------------------
declare -A wall status ooms peak outs_ok outs_n stops holds resumes dl_resumes tree_rss swamp_ooms timed_out
declare -A majflt swin swout swdev_r swdev_w ctl_cpu ctl_pct ctl_per_min ctl_rss predicted outgrew paged
for v in "${variants[@]}"; do
    out=$tmp/out/$v log=$tmp/logs/$v.log
    mkdir -p "$out"
    n=$jobs; [[ $v == j1 ]] && n=1
    cmd=(make -s -f "$mk" HOG="$hog" OUT="$out" "-j$n")
    trace=()
    [[ -n $trace_dir ]] && trace=(--trace-json --trace-output "$trace_dir/$profile-$swap-$v.jsonl")
    case $v in
        swamp-signal) cmd=("$swamp" --action signal --no-history "${trace[@]}" -- "${cmd[@]}") ;;
        swamp-freeze) cmd=("$swamp" --action freeze --no-history "${trace[@]}" -- "${cmd[@]}") ;;
        swamp-hist1|swamp-hist2) cmd=("$swamp" --action signal --history-db "$tmp/history.db" "${trace[@]}" -- "${cmd[@]}") ;;
        swamp-pageout) cmd=("$swamp" --action signal --page-out on --no-history "${trace[@]}" -- "${cmd[@]}") ;;
        swamp-nopageout) cmd=("$swamp" --action signal --page-out off --no-history "${trace[@]}" -- "${cmd[@]}") ;;
    esac
    limiter=()  # timeout sends TERM to memcg-run.sh, which ends and removes its cgroup
    [[ -n $timeout_s ]] && limiter=(timeout -s TERM -k 60 "$timeout_s")
    printf '%-13s %-22s ... ' "$v" "$(label "$v")"
    sync
    t0=$(date +%s.%N)
    # In the background so that a signal to this script is handled at once
    # (the trap then stops this child by its pid).
    HOG_TIME_SCALE=$time_scale "${limiter[@]}" "$memcg" --limit "$limit" "${swap_args[@]}" --name "outcome-$v" -- \
        "${cmd[@]}" </dev/null >/dev/null 2>"$log" &
    child=$!
    rc=0; wait "$child" || rc=$?
    child=""
    t1=$(date +%s.%N)
    wall[$v]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    status[$v]=$rc
    timed_out[$v]=false
    [[ -n $timeout_s && $rc -eq 124 ]] && timed_out[$v]=true
    ooms[$v]=$(sed -n 's/^oom_kills=\([0-9]*\)$/\1/p' "$log" | tail -1)
    peak[$v]=$(sed -n 's/^max_usage_mib=\([0-9]*\)$/\1/p' "$log" | tail -1)
    mstat() { sed -n "s/^$1=\([0-9]*\)\$/\1/p" "$log" | tail -1; }  # KEY= line of memcg-run.sh
    majflt[$v]=$(mstat major_faults) swin[$v]=$(mstat swap_in_mib) swout[$v]=$(mstat swap_out_mib)
    swdev_r[$v]=$(mstat swap_dev_read_mib) swdev_w[$v]=$(mstat swap_dev_write_mib)
    have=0
    for t in "${all_targets[@]}"; do [[ -e ${t//\$(OUT)/$out} ]] && have=$((have + 1)); done
    outs_n[$v]=$have
    outs_ok[$v]=$([[ $have -eq ${#all_targets[@]} ]] && echo true || echo false)
    summary=$(grep -E '^swamp-bpf: (command exited|build root exited)' "$log" | tail -1 || true)
    if [[ $v == swamp-* && -n $summary ]]; then
        read -r st ho re dl rss oo <<< "$(bench_swamp_summary "$log")"
        stops[$v]=${st#-} holds[$v]=${ho#-} resumes[$v]=${re#-} dl_resumes[$v]=${dl#-}
        tree_rss[$v]=${rss#-} swamp_ooms[$v]=${oo#-}
        # "...; controller X CPU-s (Y% of a core), peak RSS Z" over its own "in W s"
        ctl_cpu[$v]=$(sed -nE 's/.*controller ([0-9.]+) CPU-s.*/\1/p' <<< "$summary")
        ctl_pct[$v]=$(sed -nE 's/.*CPU-s \(([0-9.]+)% of a core\).*/\1/p' <<< "$summary")
        ctl_rss[$v]=$(sed -nE 's/.*controller .*, peak RSS ([^ ,;]+).*/\1/p' <<< "$summary")
        # "predicted P of J jobs (M outgrew it)" when history was on
        predicted[$v]=$(sed -nE 's/.*predicted ([0-9]+) of [0-9]+ jobs.*/\1/p' <<< "$summary")
        outgrew[$v]=$(sed -nE 's/.*predicted [0-9]+ of [0-9]+ jobs \(([0-9]+) outgrew.*/\1/p' <<< "$summary")
        # "; paged out 812.0M of 3 stopped jobs" (only when page-out ran)
        paged[$v]=$(sed -nE 's/.*; paged out ([^ ]+) of .*/\1/p' <<< "$summary")
        [[ -n ${paged[$v]} ]] && paged[$v]=$(awk -v s="${paged[$v]}" 'BEGIN {
            n = s + 0; u = substr(s, length(s)); f = u == "K" ? 1 / 1024 : u == "M" ? 1 : u == "G" ? 1024 : u == "T" ? 1048576 : 1 / 1048576
            printf "%.0f", n * f }')
        paged[$v]=${paged[$v]:-0}
        swamp_wall=$(sed -nE 's/^swamp-bpf: [^:]* in ([0-9.]+) s:.*/\1/p' <<< "$summary")
        ctl_per_min[$v]=$(awk -v c="${ctl_cpu[$v]}" -v w="$swamp_wall" \
            'BEGIN { if (c != "" && w > 0) printf "%.3f", 60 * c / w }')
    fi
    printf '%7.1f s, status %d, oom_kills %s, outputs %d/%d%s\n' "${wall[$v]}" "$rc" "${ooms[$v]:-?}" \
        "$have" "${#all_targets[@]}" "$([[ ${timed_out[$v]} == true ]] && echo ", timed out")"
    if [[ $v == swamp-* && -z $summary ]]; then
        echo "  (no swamp-bpf summary line; its stderr:)"
        grep -v -E '^(oom_kills|max_usage_mib|major_faults|swap_[a-z_]*mib)=' "$log" | tail -5 | sed 's/^/  | /'
    fi
    rm -rf "$out"
done

# ---- results -------------------------------------------------------------------------------------
have_j1=0; [[ -n ${wall[j1]:-} ]] && have_j1=1
ratio() { awk -v w="$1" -v l="$lb" 'BEGIN { if (l > 0) printf "%.2f", w / l; else print "" }'; }
speedup() {  # VARIANT -> j1 wall / its wall, or empty
    [[ $1 == swamp-* ]] && ((have_j1)) || return 0
    awk -v a="${wall[j1]}" -v b="${wall[$1]}" 'BEGIN { if (b > 0) printf "%.2f", a / b }'
}
ok() {  # a build that finished: status 0, no OOM kill, all final outputs there
    [[ ${status[$1]} -eq 0 && ${ooms[$1]:-0} -eq 0 && ${outs_ok[$1]} == true ]] && echo true || echo false
}

echo
row() { printf '%-15s %-24s %8s %6s %5s %5s %8s %7s %6s %6s %7s %6s %7s %8s %7s %7s %7s %7s %7s %9s %7s\n' "$@"; }
row variant command wall_s status ok ooms peak_mib outputs stops holds resumes ratio speedup \
    majflt swin_mb swout_mb paged_mb ctl_cpm ctl_rss predicted outgrew
failed=0
for v in "${variants[@]}"; do
    r=$(ratio "${wall[$v]}") sp=$(speedup "$v") mark=""
    # a failed build's time is not a build time: mark its ratio and speedup
    [[ $(ok "$v") == true ]] || { mark="*"; failed=1; }
    r=${r:+$r$mark} sp=${sp:+$sp$mark}
    row "$v" "$(label "$v")" "${wall[$v]}" "${status[$v]}" "$(ok "$v")" "${ooms[$v]:--}" \
        "${peak[$v]:--}" "${outs_n[$v]}/${#all_targets[@]}" "${stops[$v]:--}" "${holds[$v]:--}" \
        "${resumes[$v]:--}" "${r:--}" "${sp:--}" "${majflt[$v]:--}" "${swin[$v]:--}" "${swout[$v]:--}" \
        "${paged[$v]:--}" "${ctl_per_min[$v]:--}" "${ctl_rss[$v]:--}" "${predicted[$v]:--}" "${outgrew[$v]:--}"
done
((failed == 0)) || echo "* the build failed (not ok): its time is not comparable"
for v in "${variants[@]}"; do
    [[ ${timed_out[$v]} == true ]] && echo "$v: timed out after ${timeout_s} s (still running; ended by --timeout)"
done
echo
printf 'lower bound LB = max(cpu_s/cores = %s/%s = %.1f, mib_s/limit_mib = %s/%s = %.1f, critical_path_s = %s) = %.1f s\n' \
    "$cpu_s" "$cores" "$lb_cpu" "$mib_s" "$limit_mib" "$lb_mem" "$cp_s" "$lb"
load_end=$(cut -d' ' -f1 /proc/loadavg)
echo "load average: $load_start at start, $load_end at end"
echo "ratio = wall / LB; speedup = j1 wall / swamp wall; ok = status 0, no OOM kill, all final outputs"
echo "majflt = major faults in the cgroup; swin/swout_mb = MiB swapped in/out, host-wide"
echo "paged_mb = MiB paged out of stopped jobs by swamp-bpf (--page-out; RSS before - after)"
echo "ctl_cpm = swamp-bpf controller CPU-seconds per minute of build; ctl_rss = its peak RSS"
echo "predicted = jobs that started with a prediction from history; outgrew = of those, how many grew past it"
if [[ -n ${wall[swamp-hist1]:-} && -n ${wall[swamp-hist2]:-} ]]; then
    awk -v a="${wall[swamp-hist1]}" -v b="${wall[swamp-hist2]}" -v l="$lb" \
        'BEGIN { printf "history: 2nd run / 1st run = %.2f; 2nd run / LB = %.2f\n", b / a, b / l }'
fi

# ---- JSON ----------------------------------------------------------------------------------------------
if [[ -n $json ]]; then
    num() { bench_json_num "$@"; }
    str() { bench_json_str "$@"; }
    {
        printf '{\n  "profile": "%s",\n  "limit": "%s",\n  "limit_mib": %s,\n  "jobs": %s,\n  "cores": %s,\n' \
            "$profile" "$limit" "$limit_mib" "$jobs" "$cores"
        printf '  "swap": "%s",\n  "swap_size": %s,\n' "$swap" "$([[ $swap == sd ]] && str "$swap_size" || echo null)"
        printf '  "time_scale": %s,\n  "timeout_s": %s,\n' "$time_scale" "$(num "$timeout_s")"
        printf '  "cpu_s": %s,\n  "critical_path_s": %s,\n  "mib_s": %s,\n  "lower_bound_s": %s,\n' \
            "$cpu_s" "$cp_s" "$mib_s" "$lb"
        printf '  "loadavg_start": %s,\n  "loadavg_end": %s,\n' "$load_start" "$load_end"
        printf '  "final_targets": %s,\n  "variants": [\n' "${#all_targets[@]}"
        sep=""
        for v in "${variants[@]}"; do
            swampv=0; [[ $v == swamp-* ]] && swampv=1
            n=$jobs; [[ $v == j1 ]] && n=1
            printf '%s    {"variant": "%s", "command": "%s", "make_jobs": %s, "wall_s": %s, "exit_status": %s, ' \
                "$sep" "$v" "$(label "$v")" "$n" "${wall[$v]}" "${status[$v]}"
            printf '"timed_out": %s, ' "${timed_out[$v]}"
            printf '"ok": %s, "oom_kills": %s, "max_usage_mib": %s, "outputs_ok": %s, "outputs_present": %s, ' \
                "$(ok "$v")" "$(num "${ooms[$v]:-}")" "$(num "${peak[$v]:-}")" "${outs_ok[$v]}" "${outs_n[$v]}"
            printf '"major_faults": %s, "swap_in_mib": %s, "swap_out_mib": %s, "swap_dev_read_mib": %s, "swap_dev_write_mib": %s, ' \
                "$(num "${majflt[$v]:-}")" "$(num "${swin[$v]:-}")" "$(num "${swout[$v]:-}")" \
                "$(num "${swdev_r[$v]:-}")" "$(num "${swdev_w[$v]:-}")"
            if ((swampv)); then
                printf '"stops": %s, "holds": %s, "resumes": %s, "deadlock_resumes": %s, "peak_tree_rss": %s, "swamp_oom_kills": %s, ' \
                    "$(num "${stops[$v]:-}")" "$(num "${holds[$v]:-}")" "$(num "${resumes[$v]:-}")" \
                    "$(num "${dl_resumes[$v]:-}")" "$(str "${tree_rss[$v]:-}")" "$(num "${swamp_ooms[$v]:-}")"
            printf '"controller_cpu_s": %s, "controller_cpu_pct": %s, "controller_cpu_s_per_min": %s, "controller_peak_rss": %s, ' \
                "$(num "${ctl_cpu[$v]:-}")" "$(num "${ctl_pct[$v]:-}")" "$(num "${ctl_per_min[$v]:-}")" "$(str "${ctl_rss[$v]:-}")"
            printf '"predicted_jobs": %s, "outgrew_prediction": %s, ' "$(num "${predicted[$v]:-}")" "$(num "${outgrew[$v]:-}")"
            printf '"paged_out_mib": %s, ' "$(num "${paged[$v]:-}")"
            else
                printf '"stops": null, "holds": null, "resumes": null, '
            fi
            printf '"ratio_to_lb": %s, "speedup_vs_j1": %s}' "$(num "$(ratio "${wall[$v]}")")" "$(num "$(speedup "$v")")"
            sep=$',\n'
        done
        printf '\n  ]\n}\n'
    } > "$json"
    echo "JSON written to $json"
fi
