#!/usr/bin/env bash
# Cross-builds a static aarch64 swamp-bpf, its unit tests and the fake build's
# hog into build-arm64/ (Debian's g++-aarch64-linux-gnu, cmake/aarch64-linux-gnu.cmake),
# then runs its ctest: the unit tests and the simulator under qemu-user
# (CMAKE_CROSSCOMPILING_EMULATOR), and the end-to-end test that boots Debian's
# arm64 kernel in qemu-system-aarch64 (tests/arm64/e2e.sh, needs root: it
# downloads the kernel and busybox-static:arm64 once, into
# /var/cache/swamp-bpf-arm64). The BPF object is compiled by the host's clang
# against the pinned vmlinux/arm64/vmlinux.h.
# Usage: scripts/cross-arm64.sh [--no-test] [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
run_tests=1
if [ "${1:-}" = "--no-test" ]; then run_tests=0; shift; fi
scripts/deps.sh          # host clang and bpftool build the BPF object
scripts/deps-arm64.sh
kernel_args=()
targets=(swamp-bpf unit_tests hog fakebuild_sim)
if [ "$(id -u)" -eq 0 ]; then
  kdir=$(tests/arm64/fetch.sh)
  # the reduced BTF the end-to-end test loads is cut from this kernel's BTF
  kernel_args=(-DSWAMP_ARM64_KERNEL_DIR="$kdir" -DSWAMP_KERNEL_BTF="$kdir/vmlinux.btf")
  targets+=(swamp_bpf_min_btf)
else
  echo "cross-arm64.sh: not root: no arm64 kernel download, so no end-to-end test" >&2
fi
cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSWAMP_STATIC=ON "${kernel_args[@]}" "$@" >/dev/null
cmake --build build-arm64 -j"$(nproc)" --target "${targets[@]}"
for bin in build-arm64/userspace/swamp-bpf build-arm64/tests/fakebuild/hog; do
  # a dynamic binary would not run in the initramfs (no libc there)
  file -b "$bin" | grep -q 'ARM aarch64.*statically linked' || { echo "cross-arm64.sh: $bin is not a static aarch64 binary: $(file -b "$bin")" >&2; exit 1; }
done
echo "cross-arm64.sh: static aarch64 swamp-bpf $(stat -c %s build-arm64/userspace/swamp-bpf) bytes"
if ((run_tests)); then
  (cd build-arm64 && ctest --output-on-failure --timeout 600 -j"$(nproc)")
fi
