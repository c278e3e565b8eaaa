#!/usr/bin/env bash
# The benchmark suite: every comparison side by side in one run, then one
# table (Markdown, as in docs/benchmarks.md, "Performance") and one JSON file.
#
# Usage: sudo scripts/bench.sh [--out DIR] [--sections LIST] [--time-scale F]
#   --out DIR       where the results go (default bench-results/YYYYmmdd-HHMMSS);
#                   DIR/report.md is the table, DIR/bench.json everything,
#                   DIR/*.txt each part's own output
#   --sections      comma-separated subset of outcome,history,realpkg,overhead,scale,service
#                   (default all five)
#   --time-scale F  the fake builds' jobs run F times as long (default 0.5, to
#                   keep the suite near 15 minutes on 2 cores; 1 is the full size)
#
# Parts:
#   outcome   tests/bench/outcome.sh: the fake builds `pi` (in PI_LIMIT, default
#             1500M) and `links` (in LINKS_LIMIT, default 1600M), each without
#             swap and with swap at SD-card speed: make -j1, plain -j4, swamp-bpf
#             signal and freeze. j1 runs only without swap (it never swaps).
#             With swap, also signal with --page-out on (swamp-pageout),
#             against signal's default, off.
#             A variant still running after 2.5x the lower bound (2x with swap,
#             where j1 does not run; j1 needs 2x on 2 cores) is ended and
#             shown as timed out.
#             Reaction latency comes from these runs' traces
#             (tests/bench/latency.sh --from) and so does the controller's
#             footprint (its summary line).
#   history   tests/bench/outcome.sh --variants swamp-hist1,swamp-hist2: the
#             same fake builds (no swap) twice with a fresh history database,
#             the first run reactive, the second with predictions.
#   realpkg   tests/bench/realpkg.sh: real C++ packages from Debian's sources (nlohmann-json3,
#             cppcheck, eigen3; REALPKG_PACKAGES to choose), each by ninja and by make
#             (REALPKG_DRIVERS), at -j4 in the package's default limit; about an hour.
#   overhead  tests/bench/overhead.sh --rounds 5: BPF cost with and without swamp-bpf.
#   scale     tests/bench/scale.sh: events per second with zero drops, tasks tracked.
#   service   tests/bench/service.sh: a long-running service over many builds: their
#             slowdown, its CPU per 1000 jobs, and whether its memory stays flat.
# Installs what it needs and builds first (scripts/build.sh). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
prog=bench.sh
die() { echo "$prog: $*" >&2; exit 2; }

out="" sections=outcome,history,realpkg,overhead,scale,service time_scale=0.5
while (($#)); do
    case $1 in
        --out) (($# >= 2)) || die "--out needs a value"; out=$2; shift 2 ;;
        --sections) (($# >= 2)) || die "--sections needs a value"; sections=$2; shift 2 ;;
        --time-scale) (($# >= 2)) || die "--time-scale needs a value"; time_scale=$2; shift 2 ;;
        -h|--help) sed -n '/^# Usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
for s in ${sections//,/ }; do
    case $s in outcome|history|realpkg|overhead|scale|service) ;; *) die "unknown section '$s'" ;; esac
done
want() { [[ ,$sections, == *,$1,* ]]; }
[[ $(id -u) -eq 0 ]] || { echo "$prog: must run as root (BPF, memory cgroups, swap)" >&2; exit 3; }

scripts/deps.sh --test >/dev/null   # python3 and bc besides what the build needs
scripts/build.sh >/dev/null
out=${out:-bench-results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out/traces"
out=$(cd "$out" && pwd)
echo "$prog: results in $out; load average at start $(cut -d' ' -f1 /proc/loadavg)"
start=$(date +%s)

part() {  # NAME CMD...: runs one part, its output to NAME.txt (and shown), a failure noted
    local name=$1; shift
    echo "== $name: $*"
    local t0=$SECONDS rc=0
    "$@" 2>&1 | tee "$out/$name.txt" || rc=${PIPESTATUS[0]}
    echo "== $name: $((SECONDS - t0)) s, exit $rc"
    ((rc == 0)) || echo "$name" >>"$out/failed-parts"
}

if want outcome; then
    for profile in pi links; do
        limit=${PI_LIMIT:-1500M}; [[ $profile == links ]] && limit=${LINKS_LIMIT:-1600M}
        for swap in none sd; do
            variants=j1,jN,swamp-signal,swamp-freeze timeout=2.5x
            # page-out against none: swamp-pageout and swamp-signal (off by default)
            [[ $swap == sd ]] && variants=jN,swamp-signal,swamp-pageout,swamp-freeze timeout=2x
            part "outcome-$profile-$swap" tests/bench/outcome.sh --profile "$profile" --limit "$limit" \
                --swap "$swap" --variants "$variants" --time-scale "$time_scale" --timeout "$timeout" \
                --trace-dir "$out/traces" --json "$out/outcome-$profile-$swap.json"
        done
    done
    for action in signal freeze; do
        mapfile -t traces < <(ls "$out"/traces/*-swamp-"$action".jsonl 2>/dev/null)
        ((${#traces[@]})) &&
            part "latency-$action" tests/bench/latency.sh --from "${traces[@]}" --json "$out/latency-$action.json"
    done
fi
if want history; then
    for profile in pi links; do
        limit=${PI_LIMIT:-1500M}; [[ $profile == links ]] && limit=${LINKS_LIMIT:-1600M}
        part "history-$profile" tests/bench/outcome.sh --profile "$profile" --limit "$limit" \
            --variants swamp-hist1,swamp-hist2 --time-scale "$time_scale" --timeout 2.5x \
            --json "$out/history-$profile.json"
    done
fi
if want realpkg; then
    for pkg in ${REALPKG_PACKAGES:-nlohmann-json3 cppcheck eigen3}; do
        for driver in ${REALPKG_DRIVERS:-ninja make}; do
            part "realpkg-$pkg-$driver" tests/bench/realpkg.sh --package "$pkg" --driver "$driver" \
                --json "$out/realpkg-$pkg-$driver.json"
        done
    done
fi
want overhead && part overhead tests/bench/overhead.sh --rounds 5 --json "$out/overhead.json"
want scale && part scale tests/bench/scale.sh --json "$out/scale.json"
want service && part service tests/bench/service.sh --json "$out/service.json"

python3 tests/bench/report.py "$out" --minutes "$(awk -v s="$(($(date +%s) - start))" 'BEGIN { printf "%.1f", s / 60 }')" \
    --command "scripts/bench.sh --time-scale $time_scale${sections:+ --sections $sections}" >"$out/report.md"
echo
cat "$out/report.md"
echo "$prog: table in $out/report.md, all figures in $out/bench.json"
if [[ -s $out/failed-parts ]]; then
    echo "$prog: these parts failed: $(tr '\n' ' ' <"$out/failed-parts")" >&2
    exit 1
fi
