#!/usr/bin/env bash
# Overhead of the BPF programs: the CPU time (user + system, its children
# included) of each workload without and with swamp-bpf, interleaved in one
# run (A B A B …) so machine noise hits both sides alike; the medians and their
# ratio are reported. CPU time, not wall time: the machine may be shared. Two
# kinds of "with":
#   traced    the workload runs under `swamp-bpf trace` (a build being followed)
#   idle      `swamp-bpf service` runs, started and stopped around each run,
#             watching for a root name nobody runs: nothing is tracked
#   fault     tests/workloads/fault_bench --rounds 4: ~260k page faults and 80 forks
#             (rss_stat fires on nearly every fault)
#   forkexec  fork_storm as fast as it goes: 4000 fork+exec+exit of the static
#             storm_true (the exec/exit programs' worst case, like a configure run)
#   compile   a real g++ -O2 of userspace/cli/options.cpp (CLI11), the workload
#             swamp-bpf is for (traced only)
# Then each program's own cost from kernel.bpf_stats_enabled (run_time_ns /
# run_cnt of this tracer's programs only, from its fdinfo) over one fault and
# one forkexec run.
# SWAMP_BIN=PATH measures another swamp-bpf binary (an older build, to compare).
# Usage: tests/bench/overhead.sh [--rounds N] [--compiles N] [--json FILE]
#   N pairs of each microbenchmark (default 7), compile pairs (default 3).
#   Prints each run, then a summary; --json also writes the summary as JSON.
# Takes about 3 minutes on the 2-core VM. Needs root and a build.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=7 compiles=3 json=
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --compiles) compiles=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    [0-9]*) rounds=$1; shift ;;  # the old positional form
    *) echo "usage: $0 [--rounds N] [--compiles N] [--json FILE]" >&2; exit 2 ;;
  esac
done
swamp=${SWAMP_BIN:-build/userspace/swamp-bpf}
wl=build/tests/workloads
for f in "$swamp" $wl/fault_bench $wl/fork_storm $wl/storm_true /usr/bin/time; do
  [ -x "$f" ] || { echo "overhead.sh: build first (scripts/build.sh): no $f" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "overhead.sh: needs root (BPF)" >&2; exit 3; }

tmp=$(mktemp -d /tmp/swamp-overhead.XXXXXX)
stats_was=$(sysctl -n kernel.bpf_stats_enabled)
tracer= service=
cleanup() {
  [ -n "$tracer" ] && kill "$tracer" 2>/dev/null || true
  [ -n "$service" ] && kill "$service" 2>/dev/null || true
  sysctl -qw kernel.bpf_stats_enabled="$stats_was"
  rm -rf "$tmp"
}
trap cleanup EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# each prints the CPU seconds of the workload itself (its waited-for children
# included), not of swamp-bpf: `"$@"` is the tracer, if any, before /usr/bin/time
tm=(/usr/bin/time -f '%U %S' -o "$tmp/cpu")
cpu_of() { awk '{ printf "%.4f\n", $1 + $2 }' "$tmp/cpu"; }
fault() { "$@" "${tm[@]}" $wl/fault_bench --rounds 4 >/dev/null; cpu_of; }
forkexec() { "$@" "${tm[@]}" $wl/fork_storm --rate 1000000 --seconds 0.004 --helper $wl/storm_true >/dev/null; cpu_of; }
src=userspace/cli/options.cpp
inc=(-Iuserspace -Ibpf -std=c++20 -O2 -c -o /dev/null)
compile() { "$@" "${tm[@]}" g++ "${inc[@]}" "$src" >/dev/null 2>&1; cpu_of; }
traced=("$swamp" trace -o "$tmp/trace.txt" --)  # a regular file: /dev/null is refused

# the idle service: up (BPF attached, "managing" logged) before the run, gone after it
service_up() {
  "$swamp" service --no-history --roots swamp-idle-none --socket "$tmp/ctl.sock" 2>"$tmp/service.log" &
  service=$!
  for _ in $(seq 1 100); do grep -q managing "$tmp/service.log" 2>/dev/null && return; sleep 0.05; done
  cat "$tmp/service.log" >&2; echo "overhead.sh: the service did not start" >&2; exit 1
}
service_down() { kill "$service"; wait "$service" || true; service=; }
idle() { local w=$1 v; service_up; v=$($w); service_down; echo "$v"; }

declare -A med ratio spread
cases=()
pairs() {  # NAME COUNT [idle]: interleaved runs of function NAME, without then with
  local name=$1 n=$2 kind=${3:-traced} key a b without=() with=() r rs=()
  key=$name; [ "$kind" = idle ] && key=idle_$name
  $name >/dev/null  # warm up page cache and CPU frequency
  for i in $(seq "$n"); do
    a=$($name)
    if [ "$kind" = idle ]; then b=$(idle $name); else b=$($name "${traced[@]}"); fi
    without+=("$a"); with+=("$b")
    r=$(echo "$b / $a" | bc -l); rs+=("$r")
    printf '%-14s %2d  without %.4f s  with %.4f s  (%.3f)\n' "$key" "$i" "$a" "$b" "$r"
  done
  med[$key.without]=$(printf '%s\n' "${without[@]}" | median)
  med[$key.with]=$(printf '%s\n' "${with[@]}" | median)
  ratio[$key]=$(echo "${med[$key.with]} / ${med[$key.without]}" | bc -l)
  # the pairs' own ratios, lowest and highest: the spread of the repeats
  spread[$key]=$(printf '%s\n' "${rs[@]}" | sort -g | awk 'NR==1{lo=$1} {hi=$1} END{printf "%.3f..%.3f", lo, hi}')
  cases+=("$key")
}
pairs fault "$rounds" idle
pairs forkexec "$rounds" idle
pairs fault "$rounds"
pairs forkexec "$rounds"
pairs compile "$compiles"

# Per-program cost: one fault and one forkexec run under one tracer; its
# programs' counters are read from its own fds before it detaches.
sysctl -qw kernel.bpf_stats_enabled=1
"$swamp" trace -o "$tmp/trace.txt" -- sh -c "$wl/fault_bench --rounds 4 >/dev/null;
  $wl/fork_storm --rate 1000000 --seconds 0.004 --helper $wl/storm_true >/dev/null; touch '$tmp/done'; sleep 2" &
tracer=$!
while [ ! -e "$tmp/done" ] && kill -0 "$tracer" 2>/dev/null; do sleep 0.1; done
declare -A seen
progs=()
for f in /proc/"$tracer"/fdinfo/*; do
  id=$(sed -n 's/^prog_id:\s*//p' "$f" 2>/dev/null) || continue
  [ -n "$id" ] && [ -z "${seen[$id]:-}" ] || continue
  seen[$id]=1
  cnt=$(sed -n 's/^run_cnt:\s*//p' "$f"); ns=$(sed -n 's/^run_time_ns:\s*//p' "$f")
  [ "${cnt:-0}" -gt 0 ] || continue
  name=$(bpftool prog show id "$id" | sed -n 's/.* name \([^ ]*\) .*/\1/p')
  progs+=("$name $cnt $ns")
done
wait "$tracer" || true
tracer=

echo "--- summary (medians of CPU seconds; ratio = with / without; idle_*: an idle swamp-bpf service, else swamp-bpf trace)"
for w in "${cases[@]}"; do
  printf '%-14s without %8.4f s  with %8.4f s  ratio %.4f (%+.2f%%), pairs %s\n' "$w" "${med[$w.without]}" \
    "${med[$w.with]}" "${ratio[$w]}" "$(echo "(${ratio[$w]} - 1) * 100" | bc -l)" "${spread[$w]}"
done
for p in "${progs[@]}"; do
  set -- $p
  printf 'bpf_stats %-12s %9d runs %9.1f ns/run\n' "$1" "$2" "$(echo "$3 / $2" | bc -l)"
done

if [ -n "$json" ]; then
  {
    printf '{"rounds": %d, "compiles": %d, "workloads": {' "$rounds" "$compiles"
    sep=
    for w in "${cases[@]}"; do
      printf '%s"%s": {"without_s": %.4f, "with_s": %.4f, "ratio": %.4f, "pair_ratios": "%s"}' "$sep" "$w" \
        "${med[$w.without]}" "${med[$w.with]}" "${ratio[$w]}" "${spread[$w]}"
      sep=", "
    done
    printf '}, "programs": {'
    sep=
    for p in "${progs[@]}"; do
      set -- $p
      printf '%s"%s": {"runs": %d, "ns_per_run": %.1f}' "$sep" "$1" "$2" "$(echo "$3 / $2" | bc -l)"
      sep=", "
    done
    printf '}}\n'
  } >"$json"
  echo "wrote $json"
fi
