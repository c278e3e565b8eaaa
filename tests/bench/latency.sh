#!/usr/bin/env bash
# Reaction latency of swamp-bpf's stops, and what a poller would have had.
#
# Runs the demo fake build (-j4 in 1200M, as scripts/demo.sh) under swamp-bpf
# --trace-json and, for every stop or hold that followed a kernel event, takes
#   latency = delivered_ts_ns - trigger_ts_ns
# (from the kernel timestamp of the newest event the decision saw to the moment
# the actuator had delivered the stop). Next to it, the latency a poller with
# period 0.5 s and 1 s (Draining The Swamp, thrash-protect) would have had for
# the same events: the wait until its next tick, ticks aligned to the first
# event. Prints p50, p99 and max of each, in ms.
#
# Usage: tests/bench/latency.sh [--action signal|freeze] [--runs N] [--json FILE]
#        tests/bench/latency.sh --from TRACE.jsonl... [--json FILE]
# The first form needs root and a build (scripts/build.sh), about 30 s per run.
# --from reads traces already written (outcome.sh --trace-dir) instead.
# --json FILE also writes {"stops": N, "swamp": {p50_ms,p99_ms,max_ms},
# "poll_0.5s": {...}, "poll_1s": {...}}.
set -euo pipefail
cd "$(dirname "$0")/../.."
action=signal runs=1 json="" from=()
while [ $# -gt 0 ]; do
  case "$1" in
    --action) action=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    --from) shift; while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do from+=("$1"); shift; done ;;
    *) sed -n '/^# Usage:/,/^# --json/p' "$0" >&2; exit 2 ;;
  esac
done
tmp=$(mktemp -d /tmp/swamp-latency.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
traces=()
if [ ${#from[@]} -gt 0 ]; then
  for f in "${from[@]}"; do [ -r "$f" ] || { echo "latency.sh: cannot read $f" >&2; exit 2; }; done
  traces=("${from[@]}") runs=0 action="(from traces)"
fi
for r in $(seq "$runs"); do
  scripts/memcg-run.sh --limit 1200M --name latency -- build/userspace/swamp-bpf -q --action "$action" \
    --trace-json --trace-output "$tmp/trace-$r.jsonl" -- \
    make -s -f tests/fakebuild/Makefile.demo -j4 OUT="$tmp/out-$r" HOG="$PWD/build/tests/fakebuild/hog" \
    >/dev/null 2>"$tmp/log-$r" || { cat "$tmp/log-$r" >&2; exit 1; }
done

for r in $(seq "$runs"); do traces+=("$tmp/trace-$r.jsonl"); done

# "first ts of the run" then one "trigger delivered" line per stop/hold
for f in "${traces[@]}"; do
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
printf '%-28s %8s %8s %8s   (%d stops, %d trace(s), --action %s)\n' "ms" p50 p99 max "$n" "${#traces[@]}" "$action"
printf '%-28s %s\n' "swamp-bpf (event -> stop)" "$(awk '{ print $2 }' "$tmp/pairs" | stats)"
for period in 0.5 1; do
  printf '%-28s %s\n' "poller every ${period} s" \
    "$(awk -v p="$period" '{ P = p * 1e9; t = $1; print P - (t % P) }' "$tmp/pairs" | stats)"
done
if [ -n "$json" ]; then
  obj() { set -- $1; printf '{"p50_ms": %s, "p99_ms": %s, "max_ms": %s}' "$1" "$2" "$3"; }
  {
    printf '{"stops": %d, "traces": %d, "swamp": %s' "$n" "${#traces[@]}" "$(obj "$(awk '{ print $2 }' "$tmp/pairs" | stats)")"
    for period in 0.5 1; do
      printf ', "poll_%ss": %s' "$period" \
        "$(obj "$(awk -v p="$period" '{ P = p * 1e9; t = $1; print P - (t % P) }' "$tmp/pairs" | stats)")"
    done
    printf '}\n'
  } >"$json"
fi
