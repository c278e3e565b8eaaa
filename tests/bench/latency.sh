#!/usr/bin/env bash
# Reaction latency of swamp-bpf's stops, and what a poller would have had.
#
# Runs the demo fake build (-j4 in 1100M, as scripts/demo.sh) under swamp-bpf
# --trace-json and, for every stop or hold that followed a kernel event, takes
#   latency = delivered_ts_ns - trigger_ts_ns
# (from the kernel timestamp of the newest event the decision saw to the moment
# the actuator had delivered the stop). Next to it, the latency a poller with
# period 0.5 s and 1 s (Draining The Swamp, thrash-protect) would have had for
# the same events: the wait until its next tick, ticks aligned to the first
# event. Prints p50, p99 and max of each, in ms.
#
# Usage: tests/bench/latency.sh [--action signal|freeze] [--runs N]
# Needs root and a build (scripts/build.sh). About 30 s per run.
set -euo pipefail
cd "$(dirname "$0")/../.."
action=signal runs=1
while [ $# -gt 0 ]; do
  case "$1" in
    --action) action=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) sed -n '/^# Usage:/p' "$0" >&2; exit 2 ;;
  esac
done
tmp=$(mktemp -d /tmp/swamp-latency.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq "$runs"); do
  scripts/memcg-run.sh --limit 1100M --name latency -- build/userspace/swamp-bpf -q --action "$action" \
    --trace-json --trace-output "$tmp/trace-$r.jsonl" -- \
    make -s -f tests/fakebuild/Makefile.demo -j4 OUT="$tmp/out-$r" HOG="$PWD/build/tests/fakebuild/hog" \
    >/dev/null 2>"$tmp/log-$r" || { cat "$tmp/log-$r" >&2; exit 1; }
done

# "first ts of the run" then one "trigger delivered" line per stop/hold
for r in $(seq "$runs"); do
  f="$tmp/trace-$r.jsonl"
  first=$(grep -m1 -o '"ts_ns":[0-9]*' "$f" | cut -d: -f2)
  grep '"event":"decision"' "$f" | grep -E '"action":"(stop|hold)"' | grep '"trigger_ts_ns"' |
    sed -E 's/.*"delivered_ts_ns":([0-9]+).*"trigger_ts_ns":([0-9]+).*/\2 \1/' |
    awk -v first="$first" '{ print $1 - first, $2 - $1 }'
done >"$tmp/pairs"

n=$(wc -l <"$tmp/pairs")
[ "$n" -gt 0 ] || { echo "latency.sh: no stop followed a kernel event" >&2; exit 1; }
stats() {  # reads one number per line (ns), prints "p50 p99 max" in ms
  sort -n | awk '{ v[NR] = $1 } END {
    p50 = v[int((NR - 1) * 0.50) + 1]; p99 = v[int((NR - 1) * 0.99) + 1];
    printf "%8.2f %8.2f %8.2f\n", p50 / 1e6, p99 / 1e6, v[NR] / 1e6 }'
}
printf '%-28s %8s %8s %8s   (%d stops, %d run(s), --action %s)\n' "ms" p50 p99 max "$n" "$runs" "$action"
printf '%-28s %s\n' "swamp-bpf (event -> stop)" "$(awk '{ print $2 }' "$tmp/pairs" | stats)"
for period in 0.5 1; do
  printf '%-28s %s\n' "poller every ${period} s" \
    "$(awk -v p="$period" '{ P = p * 1e9; t = $1; print P - (t % P) }' "$tmp/pairs" | stats)"
done
