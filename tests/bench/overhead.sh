#!/usr/bin/env bash
# Overhead of the BPF programs, each workload timed with and without
# `swamp-bpf trace` attached, interleaved in one run (A B A B …) so machine
# noise hits both sides alike; the medians and their ratio are reported.
#   fault     tests/workloads/fault_bench --rounds 4: ~260k page faults and 80 forks
#             (rss_stat fires on nearly every fault)
#   forkexec  fork_storm as fast as it goes: 4000 fork+exec+exit of the static
#             storm_true (the exec/exit programs' worst case, like a configure run)
#   compile   a real g++ -O2 of userspace/cli/options.cpp (CLI11), the workload
#             swamp-bpf is for; its "with" side includes swamp-bpf's start-up
# Then each program's own cost from kernel.bpf_stats_enabled (run_time_ns /
# run_cnt of this tracer's programs only, from its fdinfo) over one fault and
# one forkexec run.
# Usage: tests/bench/overhead.sh [--rounds N] [--compiles N] [--json FILE]
#   N pairs of each microbenchmark (default 7), compile pairs (default 3).
#   Prints each run, then a summary; --json also writes the summary as JSON.
# Takes about 2 minutes on the 2-core VM. Needs root and a build.
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
swamp=build/userspace/swamp-bpf
wl=build/tests/workloads
for f in "$swamp" $wl/fault_bench $wl/fork_storm $wl/storm_true; do
  [ -x "$f" ] || { echo "overhead.sh: build first (scripts/build.sh): no $f" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "overhead.sh: needs root (BPF)" >&2; exit 3; }

tmp=$(mktemp -d /tmp/swamp-overhead.XXXXXX)
stats_was=$(sysctl -n kernel.bpf_stats_enabled)
tracer=
cleanup() {
  [ -n "$tracer" ] && kill "$tracer" 2>/dev/null || true
  sysctl -qw kernel.bpf_stats_enabled="$stats_was"
  rm -rf "$tmp"
}
trap cleanup EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# each workload prints its own wall time (without swamp-bpf's start-up)
fault() { "$@" $wl/fault_bench --rounds 4 | sed -n 's/^elapsed_s=//p' | tail -1; }
forkexec() {
  "$@" $wl/fork_storm --rate 1000000 --seconds 0.004 --helper $wl/storm_true | sed -n 's/.* elapsed_s=\([0-9.]*\).*/\1/p'
}
src=userspace/cli/options.cpp
inc=(-Iuserspace -Ibpf -std=c++20 -O2 -c -o /dev/null)
compile() { local t0 t1; t0=$(date +%s.%N); "$@" g++ "${inc[@]}" "$src" >/dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
traced=("$swamp" trace -o /dev/null --)

declare -A med ratio
pairs() {  # NAME COUNT: interleaved runs of function NAME, without then with
  local name=$1 n=$2 a b without=() with=()
  $name >/dev/null  # warm up page cache and CPU frequency
  for i in $(seq "$n"); do
    a=$($name); b=$($name "${traced[@]}")
    without+=("$a"); with+=("$b")
    printf '%-9s %2d  without %.4f s  with %.4f s\n' "$name" "$i" "$a" "$b"
  done
  med[$name.without]=$(printf '%s\n' "${without[@]}" | median)
  med[$name.with]=$(printf '%s\n' "${with[@]}" | median)
  ratio[$name]=$(echo "${med[$name.with]} / ${med[$name.without]}" | bc -l)
}
pairs fault "$rounds"
pairs forkexec "$rounds"
pairs compile "$compiles"

# Per-program cost: one fault and one forkexec run under one tracer; its
# programs' counters are read from its own fds before it detaches.
sysctl -qw kernel.bpf_stats_enabled=1
"$swamp" trace -o /dev/null -- sh -c "$wl/fault_bench --rounds 4 >/dev/null;
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

echo "--- summary (medians; ratio = with swamp-bpf trace / without)"
for w in fault forkexec compile; do
  printf '%-9s without %8.4f s  with %8.4f s  ratio %.4f (%+.2f%%)\n' "$w" "${med[$w.without]}" "${med[$w.with]}" \
    "${ratio[$w]}" "$(echo "(${ratio[$w]} - 1) * 100" | bc -l)"
done
for p in "${progs[@]}"; do
  set -- $p
  printf 'bpf_stats %-12s %9d runs %9.1f ns/run\n' "$1" "$2" "$(echo "$3 / $2" | bc -l)"
done

if [ -n "$json" ]; then
  {
    printf '{"rounds": %d, "compiles": %d, "workloads": {' "$rounds" "$compiles"
    sep=
    for w in fault forkexec compile; do
      printf '%s"%s": {"without_s": %.4f, "with_s": %.4f, "ratio": %.4f}' "$sep" "$w" "${med[$w.without]}" "${med[$w.with]}" "${ratio[$w]}"
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
