#!/usr/bin/env bash
# The test command: installs what is needed, builds, and runs every test
# (unit tests without root; integration tests with real BPF need root), then
# fuzzes the parsers and runs the unit tests under ASan and UBSan, and last
# cross-builds for aarch64 and tests that build under qemu (scripts/cross-arm64.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: not root: integration tests (real BPF) will be skipped" >&2
fi
(cd build && ctest --output-on-failure --timeout 900 "$@")
scripts/fuzz.sh       # 20 s per fuzz target
scripts/sanitize.sh
scripts/cross-arm64.sh   # static aarch64 build; unit tests under qemu-user; Debian arm64 kernel under qemu-system
