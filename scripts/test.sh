#!/usr/bin/env bash
# The test command: installs what the tests need (scripts/deps.sh --test), builds, and runs every test
# (unit tests without root; integration tests with real BPF need root), then
# fuzzes the parsers and runs the unit tests under ASan and UBSan, and last
# cross-builds for aarch64 and tests that build under qemu (scripts/cross-arm64.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
scripts/build.sh
if [ ! -x build/tests/unit/unit_tests ]; then  # configured without GoogleTest: no unit tests built
  echo "test.sh: build/tests/unit/unit_tests was not built; is GoogleTest installed (scripts/deps.sh --test)?" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: not root: integration tests (real BPF) will be skipped" >&2
fi
# the tests run as root, as CI does: under sudo, swamp-bpf would run their builds as the user who
# ran it (docs/usage.md, "Who the build runs as"), in root's scratch directories
unset SUDO_UID SUDO_GID SUDO_USER PKEXEC_UID DOAS_USER
(cd build && ctest --output-on-failure --timeout 900 "$@")
scripts/fuzz.sh       # 20 s per fuzz target
scripts/sanitize.sh
scripts/cross-arm64.sh   # static aarch64 build; unit tests under qemu-user; Debian arm64 kernel under qemu-system
