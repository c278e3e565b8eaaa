#!/usr/bin/env bash
# The main job on a bundled demo: installs, builds, then runs a small
# memory-hungry fake build (tests/fakebuild/Makefile.demo: 16 jobs, two big
# TUs and two big links) with `make -j4` inside a 1200 MiB memory cgroup, the
# way a small machine would. Plain `make -j4` is OOM-killed there; under
# swamp-bpf the live trace shows every stop, hold and resume with its reason,
# and a summary ends it: wall time, stops, resumes, OOM kills. Needs root.
# It installs only what building and running swamp-bpf needs (scripts/deps.sh without --test:
# no GoogleTest, Chromium or distcc), so the build has no unit tests until scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then echo "demo.sh: run as root (swamp-bpf loads BPF programs and uses cgroups)" >&2; exit 3; fi
scripts/build.sh
out=$(mktemp -d /tmp/swamp-demo.XXXXXX)
# under sudo (pkexec, doas) the build runs as you (docs/usage.md, "Who the build runs as"): its outputs are yours
owner=${SUDO_UID:-${PKEXEC_UID:-}}
if [ -z "$owner" ] && [ -n "${DOAS_USER:-}" ]; then owner=$(id -u "$DOAS_USER"); fi
if [ -n "$owner" ]; then chown "$owner" "$out"; fi
trap 'rm -rf "$out"' EXIT
limit=${DEMO_LIMIT:-1200M}
echo "== swamp-bpf --trace -- make -j4, in a memory cgroup limited to $limit (outputs in $out)"
echo "   (events: exec/exit of each job; decisions: STOP, HOLD, RESUME with the reason)"
# only the job-level lines: the full event stream is `swamp-bpf trace`
scripts/memcg-run.sh --limit "$limit" --name demo -- \
  build/userspace/swamp-bpf --trace -- \
  make -s -f tests/fakebuild/Makefile.demo HOG="$PWD/build/tests/fakebuild/hog" OUT="$out" -j4 \
  2> >(grep --line-buffered -E ' (exec|exit|STOP|HOLD|RESUME) |^swamp-bpf|oom_kills|max_usage' | grep --line-buffered -v ' make ' >&2)
