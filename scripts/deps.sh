#!/usr/bin/env bash
# Installs what swamp-bpf needs, from Debian's packages only:
#   scripts/deps.sh          to build it, package it and run it, the demo too (build.sh, demo.sh, package.sh)
#   scripts/deps.sh --test   that and everything the tests, fuzzers and benchmarks need (test.sh, fuzz.sh,
#                            sanitize.sh, bench.sh)
set -euo pipefail
# To build and run: the compilers and libraries; help2man writes the manual pages from --help
# (man/); dpkg-dev's dpkg-shlibdeps fills the .deb's Depends (cpack -G DEB, scripts/package.sh);
# make, procps, util-linux and mount run the demo's fake build in a memory cgroup (memcg-run.sh);
# libncurses-dev: `swamp-bpf top` (without it, swamp-bpf builds without top).
pkgs=(build-essential cmake pkg-config make dpkg-dev help2man
      clang bpftool libbpf-dev libelf-dev zlib1g-dev libsqlite3-dev
      libcli11-dev nlohmann-json3-dev libtomlplusplus-dev libncurses-dev
      procps util-linux mount coreutils)
# The tests only:
# libgtest-dev, googletest: the unit and integration tests (tests/unit, tests/integration);
# libclang-rt-14-dev, llvm: libFuzzer, the sanitizer runtimes and their symbolizer (fuzz.sh, sanitize.sh);
# python3: tests/bench/report.py (bench.sh) and the timeline test; bc: the benchmarks' arithmetic;
# passwd, login: test users and their /usr/sbin/nologin; ninja-build: builds driven by ninja;
# chromium: renders `swamp-bpf report`'s SVG to a PNG in a test (tests/report/);
# distcc: a local distccd for the service-mode test of a distcc helper (its daemon is not enabled);
# systemd: systemd-analyze verify of the unit, lintian: the .deb (tests/package/; neither starts anything);
# bash-completion, zsh: the shell completion tests (tests/completion/);
# prometheus: promtool checks the metrics file (tests/metrics/; the server itself is not used);
# mmdebstrap: a fresh Debian 12 to install the .deb into, systemd-container: systemd-nspawn boots
# it to run the unit under systemd (tests/package/container_check.sh); logrotate: the OpenRC log; man-db: Package.contents renders the packaged man page;
# tmux: runs `swamp-bpf top` on a terminal in its test (tests/integration/test_top.cpp);
# time: /usr/bin/time takes the workloads' CPU time in tests/bench/overhead.sh (bench.sh).
test_pkgs=(libgtest-dev googletest libclang-rt-14-dev llvm python3 bc passwd login ninja-build
           chromium distcc systemd lintian bash-completion zsh prometheus mmdebstrap systemd-container
           logrotate man-db tmux time)
if [ "${1:-}" = --test ]; then
  pkgs+=("${test_pkgs[@]}")
elif [ $# -gt 0 ]; then
  echo "usage: scripts/deps.sh [--test]" >&2
  exit 2
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: missing packages (${missing[*]}); run as root or install them with apt-get" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
