#!/usr/bin/env bash
# The main job on a bundled demo: installs, builds, then runs a small
# memory-hungry fake build (tests/fakebuild/Makefile.demo, 16 jobs) at -j4
# under `swamp-bpf trace`, printing every exec, fork, exit, RSS step and fault
# rate of the build tree live. Needs root (BPF).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then echo "demo.sh: run as root (swamp-bpf loads BPF programs)" >&2; exit 3; fi
scripts/build.sh
out=$(mktemp -d /tmp/swamp-demo.XXXXXX)
trap 'rm -rf "$out"' EXIT
echo "== swamp-bpf trace -- make -j4 (demo fake build, outputs in $out)"
build/userspace/swamp-bpf trace -- make -s -f tests/fakebuild/Makefile.demo HOG="$PWD/build/tests/fakebuild/hog" OUT="$out" -j4
