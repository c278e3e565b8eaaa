#!/bin/sh
# The fake build of the arm64 end-to-end test: 6 jobs (hog, tests/fakebuild/hog.cpp),
# up to 4 at a time like make -j4, 560 MiB of peaks in all against a 300M budget.
# Each job is one hog under a subshell of sh, which is the build's driver.
# Usage: fakebuild.sh [OUTDIR] (default /tmp/fb).
out=${1:-/tmp/fb}
job() { hog --mib "$1" --cpu-s "$2" --shape "$3" --out "$out/$4"; }
job 110 1.5 ramp a.o & job 90 1.5 early b.o & job 100 1.5 ramp c.o & job 80 1.0 ramp d.o &
wait
job 60 0.8 ramp e.o & job 120 1.2 late app &
wait
