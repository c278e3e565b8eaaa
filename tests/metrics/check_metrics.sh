#!/usr/bin/env bash
# `promtool check metrics` (Debian's prometheus package) on the metrics file of each
# snapshot metrics_sample prints: no lint problem (names, units, counters' _total,
# HELP and TYPE) and a format Prometheus parses. Usage: check_metrics.sh METRICS_SAMPLE
set -euo pipefail
sample=$1
command -v promtool >/dev/null || { echo "FAIL: promtool is not installed (scripts/deps.sh --test installs prometheus)" >&2; exit 1; }
for kind in throttling hostile many idle exited; do
  out=$("$sample" "$kind" | promtool check metrics 2>&1) && rc=0 || rc=$?
  if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
    echo "FAIL: promtool check metrics on the $kind snapshot (exit $rc):" >&2
    echo "$out" >&2
    "$sample" "$kind" >&2
    exit 1
  fi
  echo "$kind: promtool check metrics: clean"
done
