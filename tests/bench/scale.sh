#!/usr/bin/env bash
# How far swamp-bpf's sensing scales, under `swamp-bpf trace --json` (default
# --ringbuf-size and --max-tasks unless said otherwise):
#   rate   fork_storm at rising rates (fork+exec+exit of the static storm_true),
#          3 s each: processes/s reached, events/s received, events dropped
#          (zero drops is the pass mark), and whether every exec was seen.
#   tasks  N processes alive at once in the tree (sleepers started by one
#          shell): how many entries the kernel's task map reached, and with a
#          --max-tasks below N, that the overflow is counted and reported.
# Usage: tests/bench/scale.sh [--rates "1000 2000 4000 8000"] [--tasks "1000 4000"] [--json FILE]
# Takes about a minute. Needs root and a build.
set -euo pipefail
cd "$(dirname "$0")/../.."
rates="1000 2000 4000 8000" tasks="1000 4000" json=
while [ $# -gt 0 ]; do
  case $1 in
    --rates) rates=$2; shift 2 ;;
    --tasks) tasks=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    *) echo "usage: $0 [--rates LIST] [--tasks LIST] [--json FILE]" >&2; exit 2 ;;
  esac
done
swamp=$PWD/build/userspace/swamp-bpf
wl=$PWD/build/tests/workloads
for f in "$swamp" $wl/fork_storm $wl/storm_true; do
  [ -x "$f" ] || { echo "scale.sh: build first (scripts/build.sh): no $f" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "scale.sh: needs root (BPF)" >&2; exit 3; }
command -v bpftool >/dev/null || { echo "scale.sh: needs bpftool" >&2; exit 1; }

tmp=$(mktemp -d /tmp/swamp-scale.XXXXXX)
tracer=
cleanup() {
  [ -n "$tracer" ] && kill "$tracer" 2>/dev/null || true
  [ -e "$tmp/go" ] || : >"$tmp/go"  # lets a waiting shell end its sleepers
  rm -rf "$tmp"
}
trap cleanup EXIT

rate_rows=() task_rows=()
printf '%-8s %10s %10s %10s %8s %10s\n' rate procs/s events/s events drops execs
for r in $rates; do
  "$swamp" trace --json -o "$tmp/t.jsonl" -- \
    $wl/fork_storm --rate "$r" --seconds 3 --helper $wl/storm_true --report "$tmp/r" 2>"$tmp/err" || true
  line=$(cat "$tmp/r")
  started=$(sed -n 's/.* started=\([0-9]*\).*/\1/p' <<<"$line")
  elapsed=$(sed -n 's/.* elapsed_s=\([0-9.]*\).*/\1/p' <<<"$line")
  got=$(sed -n 's/.* rate=\([0-9.]*\).*/\1/p' <<<"$line")
  events=$(grep -vc '"event":"drops"' "$tmp/t.jsonl" || true)
  drops=$(sed -n 's/.*"dropped":\([0-9]*\).*/\1/p' "$tmp/t.jsonl" | tail -1)
  drops=${drops:-0}
  execs=$(grep -c '"event":"exec".*storm_true' "$tmp/t.jsonl" || true)
  evs=$(echo "$events / $elapsed" | bc -l)
  printf '%-8s %10.0f %10.0f %10d %8d %5d/%-5d\n' "$r" "$got" "$evs" "$events" "$drops" "$execs" "$started"
  rate_rows+=("$(printf '{"target": %d, "procs_per_s": %.0f, "events_per_s": %.0f, "events": %d, "dropped": %d, "execs_seen": %d, "started": %d}' \
    "$r" "$got" "$evs" "$events" "$drops" "$execs" "$started")")
done

# N sleepers under one shell, which ends them when $tmp/go appears
sleepers() {
  cat <<EOF
for i in \$(seq $1); do sleep 300 & done
touch $tmp/ready
while [ ! -e $tmp/go ]; do sleep 0.1; done
kill \$(jobs -p) 2>/dev/null; wait
EOF
}
task_map_entries() {  # PID: entries in the task map of that swamp-bpf
  local f id
  for f in /proc/"$1"/fdinfo/*; do
    grep -q '^map_type:\s*1$' "$f" 2>/dev/null || continue  # BPF_MAP_TYPE_HASH
    id=$(sed -n 's/^map_id:\s*//p' "$f")
    # `tasks` is keyed by tgid and valued by swamp_task_state (64 bytes)
    bpftool map show id "$id" | grep -q 'name tasks ' || continue
    bpftool -j map dump id "$id" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'
    return
  done
  echo 0
}
echo
printf '%-8s %-12s %10s %12s %s\n' tasks max-tasks tracked not-tracked note
run_tasks() {  # N MAX
  local n=$1 max=$2 tracked untracked
  rm -f "$tmp/ready" "$tmp/go"
  "$swamp" trace --max-tasks "$max" -o /dev/null -- bash -c "$(sleepers "$n")" 2>"$tmp/err" &
  tracer=$!
  while [ ! -e "$tmp/ready" ] && kill -0 "$tracer" 2>/dev/null; do sleep 0.2; done
  sleep 0.5
  tracked=$(task_map_entries "$tracer")
  : >"$tmp/go"
  wait "$tracer" || true
  tracer=
  untracked=$(sed -n 's/^swamp-bpf: \([0-9]*\) processes were not tracked.*/\1/p' "$tmp/err")
  untracked=${untracked:-0}
  printf '%-8d %-12d %10d %12d %s\n' "$n" "$max" "$tracked" "$untracked" "$( ((untracked > 0)) && echo 'reported: raise --max-tasks')"
  task_rows+=("$(printf '{"tasks": %d, "max_tasks": %d, "tracked": %d, "not_tracked": %d}' "$n" "$max" "$tracked" "$untracked")")
}
for n in $tasks; do run_tasks "$n" 16384; done
last=${tasks##* }
run_tasks "$last" $(( last / 2 ))

if [ -n "$json" ]; then
  (IFS=,; printf '{"rates": [%s], "tasks": [%s]}\n' "${rate_rows[*]}" "${task_rows[*]}") >"$json"
  echo "wrote $json"
fi
