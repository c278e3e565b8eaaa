#!/usr/bin/env bash
# Installs everything swamp-bpf needs to build and test, from Debian's packages only.
set -euo pipefail
# libclang-rt-14-dev: libFuzzer and clang's sanitizer runtimes (scripts/fuzz.sh).
# python3: tests/bench/report.py (scripts/bench.sh); coreutils: timeout; login: /usr/sbin/nologin (test users).
# libsqlite3-dev: the history store (userspace/history).
# chromium: renders `swamp-bpf report`'s SVG to a PNG in a test (tests/report/).
# distcc: a local distccd for the service-mode test of a distcc helper (its daemon is not enabled).
# dpkg-dev: dpkg-shlibdeps, for the Debian package's Depends (cpack -G DEB, scripts/package.sh);
# systemd: systemd-analyze verify of the unit in tests/package/ (it starts nothing).
# help2man: the manual pages, written from --help at build time (man/).
# bash-completion, zsh: the shell completion tests (tests/completion/).
# lintian: the package tests check the .deb with it (tests/package/).
pkgs=(build-essential cmake pkg-config make libsqlite3-dev
      clang libclang-rt-14-dev llvm bpftool libbpf-dev libelf-dev zlib1g-dev
      libcli11-dev libgtest-dev googletest nlohmann-json3-dev libtomlplusplus-dev
      procps util-linux mount passwd login ninja-build bc coreutils python3
      chromium distcc dpkg-dev systemd help2man
      bash-completion zsh lintian)
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
