#!/usr/bin/env bash
# Builds the unit tests, the policy simulator (tests/sim) and swamp-bpf (its
# `report` test renders with it) with AddressSanitizer and UndefinedBehaviorSanitizer
# (clang++, no BPF) into build-asan/ and runs them: any report fails its test.
# Usage: scripts/sanitize.sh [extra ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test   # the sanitizer runtimes and GoogleTest
# clang++ at -O0 builds this in under a minute (g++ -O2 took over seven CPU
# minutes), and clang's UBSan also checks float-to-integer casts.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DSWAMP_SANITIZE=ON -DSWAMP_WITH_BPF=OFF >/dev/null
cmake --build build-asan -j2 --target unit_tests fakebuild_sim swamp-bpf metrics_sample man  # swamp-bpf: the report, man and completion tests run it
export ASAN_OPTIONS="detect_stack_use_after_return=1:check_initialization_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
cd build-asan
ctest --output-on-failure -j2 "$@"
