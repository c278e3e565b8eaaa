#!/usr/bin/env bash
# swamp-bpf as a long-running service: what it costs the builds it watches and
# whether its own memory stays flat over many builds.
#   One `swamp-bpf service` watches a copy of make named svcbench-make. Each
#   round runs a build of JOBS short jobs (/bin/true) twice, side by side: once
#   under svcbench-make (found and managed by the service) and once under a copy
#   named plain-make (not watched). Reported: the managed/plain wall-time ratio
#   (sum over the rounds), the service's CPU time per 1000 jobs, and its RSS and
#   anonymous memory after the first and after the last round.
# Usage: tests/bench/service.sh [--rounds N] [--jobs N] [--json FILE]
# Takes about half a minute with the defaults. Needs root and a build.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=25 jobs=200 json=
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    *) echo "usage: $0 [--rounds N] [--jobs N] [--json FILE]" >&2; exit 2 ;;
  esac
done
swamp=$PWD/build/userspace/swamp-bpf
[ -x "$swamp" ] || { echo "service.sh: build first (scripts/build.sh): no $swamp" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "service.sh: needs root (BPF)" >&2; exit 3; }

tmp=$(mktemp -d /tmp/swamp-service-bench.XXXXXX)
svc=
cleanup() {
  if [ -n "$svc" ]; then kill -TERM "$svc" 2>/dev/null || true; wait "$svc" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

cp /usr/bin/make "$tmp/svcbench-make"
cp /usr/bin/make "$tmp/plain-make"
{
  printf 'all:'
  for i in $(seq 1 "$jobs"); do printf ' j%d' "$i"; done
  printf '\n'
  for i in $(seq 1 "$jobs"); do printf 'j%d:\n\t@/bin/true\n' "$i"; done
  printf '.PHONY: all'
  for i in $(seq 1 "$jobs"); do printf ' j%d' "$i"; done
  printf '\n'
} >"$tmp/Makefile"

"$swamp" service --no-history --roots svcbench-make --socket "$tmp/ctl.sock" --status-file "$tmp/status" \
  2>"$tmp/service.log" &
svc=$!
for _ in $(seq 1 100); do grep -q managing "$tmp/service.log" 2>/dev/null && break; sleep 0.1; done
grep -q managing "$tmp/service.log" || { cat "$tmp/service.log" >&2; echo "service.sh: the service did not start" >&2; exit 1; }

kib() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$svc/status"; }
ticks() { awk '{print $14 + $15}' "/proc/$svc/stat"; }
now() { date +%s.%N; }
build() { "$tmp/$1" -s -j8 -C "$tmp" -f Makefile >/dev/null; }

plain_s=0 managed_s=0 ticks_before=$(ticks)
for r in $(seq 1 "$rounds"); do
  t0=$(now); build plain-make; t1=$(now); build svcbench-make; t2=$(now)
  plain_s=$(echo "$plain_s + $t1 - $t0" | bc -l)
  managed_s=$(echo "$managed_s + $t2 - $t1" | bc -l)
  if [ "$r" -eq 1 ]; then rss_first=$(kib VmRSS); anon_first=$(kib RssAnon); fi
done
rss_last=$(kib VmRSS) anon_last=$(kib RssAnon)
cpu_s=$(echo "($(ticks) - $ticks_before) / $(getconf CLK_TCK)" | bc -l)
kill -TERM "$svc"; wait "$svc" || true; svc=
summary=$(grep 'stopped in' "$tmp/service.log" | tail -1)
managed_jobs=$(sed -nE 's/.*: ([0-9]+) jobs,.*/\1/p' <<<"$summary")
found=$(grep -c 'found a build' "$tmp/service.log" || true)
ratio=$(echo "$managed_s / $plain_s" | bc -l)
cpu_per_k=$(echo "1000 * $cpu_s / ($rounds * $jobs)" | bc -l)

printf '%d rounds of %d jobs: managed/plain wall time %.3f (%.2f s / %.2f s)\n' "$rounds" "$jobs" "$ratio" "$managed_s" "$plain_s"
printf 'the service found %d builds, %s jobs; its CPU: %.3f s in all, %.3f s per 1000 jobs\n' "$found" "${managed_jobs:-?}" "$cpu_s" "$cpu_per_k"
printf 'its RSS: %d KiB after the first round, %d KiB after the last (anonymous: %d, %d KiB)\n' \
  "$rss_first" "$rss_last" "$anon_first" "$anon_last"
if [ -n "$json" ]; then
  printf '{"rounds": %d, "jobs_per_build": %d, "wall_ratio": %.4f, "managed_s": %.3f, "plain_s": %.3f, "builds_found": %d, "jobs_managed": %s, "cpu_s": %.3f, "cpu_s_per_1000_jobs": %.4f, "rss_kib_first": %d, "rss_kib_last": %d, "anon_kib_first": %d, "anon_kib_last": %d}\n' \
    "$rounds" "$jobs" "$ratio" "$managed_s" "$plain_s" "$found" "${managed_jobs:-null}" "$cpu_s" "$cpu_per_k" \
    "$rss_first" "$rss_last" "$anon_first" "$anon_last" >"$json"
fi
