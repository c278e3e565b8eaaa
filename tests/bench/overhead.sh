#!/usr/bin/env bash
# Overhead of the BPF programs: a fault-heavy, fork-heavy microbenchmark
# (tests/workloads/fault_bench) timed with and without `swamp-bpf trace`
# attached to it, interleaved in one run (A B A B …) so machine noise hits
# both sides alike. Prints each run, the medians and their ratio.
# A second pair times a real compile (g++ -O2 of userspace/cli/options.cpp,
# which pulls in CLI11), the workload swamp-bpf is for.
# Usage: tests/bench/overhead.sh [ROUNDS]  (default 9 pairs). Needs root and a build.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-9}
swamp=build/userspace/swamp-bpf
bench=build/tests/workloads/fault_bench
[ -x "$swamp" ] && [ -x "$bench" ] || { echo "overhead.sh: build first (scripts/build.sh)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "overhead.sh: needs root (BPF)" >&2; exit 3; }

elapsed() { "$@" | sed -n 's/^elapsed_s=//p' | tail -1; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

without=() with=()
elapsed "$bench" >/dev/null  # warm up page cache and CPU frequency
for i in $(seq "$rounds"); do
  a=$(elapsed "$bench")
  b=$(elapsed "$swamp" trace -o /dev/null -- "$bench")
  without+=("$a"); with+=("$b")
  printf 'round %2d  without %s s  with %s s\n' "$i" "$a" "$b"
done
report() {  # NAME, then the two arrays' contents separated by "--"
  local name=$1; shift
  local a=() b=() side=a
  for v in "$@"; do if [ "$v" = -- ]; then side=b; elif [ $side = a ]; then a+=("$v"); else b+=("$v"); fi; done
  local m0 m1
  m0=$(printf '%s\n' "${a[@]}" | median)
  m1=$(printf '%s\n' "${b[@]}" | median)
  printf '%-12s median without %.4f s, with swamp-bpf trace %.4f s: ratio %.4f (%+.2f%%)\n' "$name" \
    "$m0" "$m1" "$(echo "$m1 / $m0" | bc -l)" "$(echo "($m1 / $m0 - 1) * 100" | bc -l)"
}
fault_line=$(report fault_bench "${without[@]}" -- "${with[@]}")

# a real compile
src=userspace/cli/options.cpp
inc=(-Iuserspace -Ibpf -std=c++20 -O2 -c -o /dev/null)
timed() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
cwithout=() cwith=()
for i in $(seq $(( (rounds + 1) / 2 ))); do
  a=$(timed g++ "${inc[@]}" "$src")
  b=$(timed "$swamp" trace -o /dev/null -- g++ "${inc[@]}" "$src")
  cwithout+=("$a"); cwith+=("$b")
  printf 'compile %2d  without %.3f s  with %.3f s\n' "$i" "$a" "$b"
done
echo "$fault_line"
report "g++ -O2" "${cwithout[@]}" -- "${cwith[@]}"

# Per-program cost from the kernel's own accounting (kernel.bpf_stats_enabled):
# the microbenchmark runs once under `trace`, and before trace detaches, each
# of its programs' run_time_ns / run_cnt is read with bpftool.
tmp=$(mktemp -d /tmp/swamp-overhead.XXXXXX)
stats_was=$(sysctl -n kernel.bpf_stats_enabled)
trap 'sysctl -qw kernel.bpf_stats_enabled="$stats_was"; rm -rf "$tmp"' EXIT
sysctl -qw kernel.bpf_stats_enabled=1
before=$(bpftool prog show | sed -n 's/^\([0-9]*\):.*/\1/p' | sort -n | tail -1)  # ours load after this id
"$swamp" trace -o /dev/null -- sh -c "'$bench' >/dev/null; touch '$tmp/done'; sleep 3" &
tracer=$!
while [ ! -e "$tmp/done" ]; do sleep 0.1; done
bpftool prog show | awk -v after="${before:-0}" '
  /^[0-9]+:/ { id = $1 + 0; name = ""; ns = 0; cnt = 0
               for (i = 1; i <= NF; i++) { if ($i == "name") name = $(i+1); if ($i == "run_time_ns") ns = $(i+1); if ($i == "run_cnt") cnt = $(i+1) }
               if (id > after && cnt > 0)
                 printf "bpf_stats %-16s %10d runs  %7.1f ns/run  %8.3f ms in all\n", name, cnt, ns / cnt, ns / 1e6 }'
wait "$tracer"
