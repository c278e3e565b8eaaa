#!/usr/bin/env bash
# Builds the Debian package of swamp-bpf with CPack and prints its path:
#   scripts/package.sh           build-pkg/swamp-bpf_<version>_<arch>.deb for this machine
#   scripts/package.sh --arm64   build-pkg-arm64/swamp-bpf_<version>_arm64.deb: the static
#                                aarch64 build (as scripts/cross-arm64.sh), for a Raspberry Pi
#   scripts/package.sh --source  build-pkg/swamp-bpf-<version>.tar.gz: the source, for
#                                distribution packagers (cpack's package_source; nothing is built)
# Extra arguments go to cmake. The build directories hold only the program (no tests).
# Install: apt install ./build-pkg/swamp-bpf_*.deb (docs/service.md, "Install and run as a service").
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build-pkg
cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSWAMP_BUILD_TESTS=OFF)
scripts/deps.sh
if [ "${1:-}" = "--source" ]; then
  shift
  cmake -S . -B "$dir" "${cmake_args[@]}" "$@" >/dev/null
  rm -f "$dir"/swamp-bpf-*.tar.gz
  (cd "$dir" && cpack --config CPackSourceConfig.cmake >/dev/null)
  tarballs=("$dir"/swamp-bpf-*.tar.gz)
  [ -f "${tarballs[0]}" ] || { echo "package.sh: cpack made no source tarball in $dir" >&2; exit 1; }
  echo "$(pwd)/${tarballs[0]}"
  exit 0
fi
if [ "${1:-}" = "--arm64" ]; then
  shift
  scripts/deps-arm64.sh
  dir=build-pkg-arm64
  cmake_args+=(-DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DSWAMP_STATIC=ON)
fi
cmake -S . -B "$dir" "${cmake_args[@]}" "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
rm -f "$dir"/swamp-bpf_*.deb
(cd "$dir" && cpack -G DEB >/dev/null)
debs=("$dir"/swamp-bpf_*.deb)
[ -f "${debs[0]}" ] || { echo "package.sh: cpack made no .deb in $dir" >&2; exit 1; }
echo "$(pwd)/${debs[0]}"
