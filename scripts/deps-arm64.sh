#!/usr/bin/env bash
# Installs what the aarch64 cross-build and its tests need, from Debian's
# packages only (scripts/cross-arm64.sh calls it; scripts/deps.sh stays x86-only):
# - the cross compiler and the :arm64 -dev packages to link a static swamp-bpf;
#   all are Multi-Arch: same, so they install beside the amd64 ones;
# - qemu-user-static (unit tests) and qemu-system-arm (the end-to-end test);
# - cpio, to pack the initramfs; file, to check that the binaries are static.
# The arm64 kernel and busybox-static:arm64 are not installed (busybox-static
# would replace the host's busybox): tests/arm64/fetch.sh downloads them.
set -euo pipefail
pkgs=(g++-aarch64-linux-gnu
      libbpf-dev:arm64 libelf-dev:arm64 zlib1g-dev:arm64 libsqlite3-dev:arm64 libgtest-dev:arm64
      libtomlplusplus-dev:arm64 libncurses-dev:arm64
      qemu-user-static qemu-system-arm cpio file)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "deps-arm64.sh: missing packages (${missing[*]}); run as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
fi
apt-get update -qq -o DPkg::Lock::Timeout=600
# Other apt users (another build on the machine) may hold the lock for a while.
apt-get install -o DPkg::Lock::Timeout=600 -y -qq --no-install-recommends "${missing[@]}"
