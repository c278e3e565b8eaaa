#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang++, no BPF) into build-fuzz/
# and runs every fuzz_* target there for a bounded time, each from a copy of
# its seed corpus tests/fuzz/corpus/NAME/, so the seeds in the repository stay as they are.
# A crash, hang, leak or sanitizer report fails the script; the input that
# caused it is kept in build-fuzz/artifacts/.
# Usage: scripts/fuzz.sh [SECONDS per target, default 20]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
scripts/deps.sh --test   # libFuzzer and the sanitizer runtimes
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DSWAMP_FUZZ=ON -DSWAMP_WITH_BPF=OFF >/dev/null
cmake --build build-fuzz -j2

targets=$(find build-fuzz -name CMakeFiles -prune -o -type f -perm -u+x -name 'fuzz_*' -print | sort)
if [ -z "$targets" ]; then
  echo "fuzz.sh: no fuzz_* target in build-fuzz/" >&2
  exit 1
fi
export ASAN_OPTIONS="print_legend=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p build-fuzz/artifacts
failed=0
for bin in $targets; do
  name=$(basename "$bin")
  mkdir "$work/$name"
  if [ -d "tests/fuzz/corpus/$name" ]; then cp -r "tests/fuzz/corpus/$name/." "$work/$name/"; fi
  if "$bin" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
      -artifact_prefix="build-fuzz/artifacts/$name-" "$work/$name" >"$work/$name.log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log")
    echo "fuzz.sh: $name: $runs runs in ${seconds} s, no crash"
  else
    # the report, from its first line, and where the input was written
    awk '/ERROR|runtime error|terminate called|Timeout/ {p = 1} p' "$work/$name.log" | head -n 60
    grep -E 'Test unit written|^Base64' "$work/$name.log" || true
    echo "fuzz.sh: $name FAILED (the input is in build-fuzz/artifacts/)" >&2
    failed=1
  fi
done
exit $failed
