#!/usr/bin/env bash
# A real compiler workload under a memory limit: a set of objects (and links)
# of a real Debian 12 source package, built with the distro's g++ and CXXFLAGS
# (-g -O2) by ninja -jK or make -jK inside a fresh memory cgroup each
# (scripts/memcg-run.sh, no swap). The packages, chosen for their shapes:
#   nlohmann-json3  its unit tests: 8 template-heavy TUs of 250-1000 MiB of
#                   cc1plus each (the shape of the first hang report)
#   cppcheck        the cppcheck program: its 13 biggest library TUs
#                   (mid-sized, 320-770 MiB each) and the link of the
#                   program, which waits for all of them
#   eigen3          parts of its tests: uneven TUs, one far bigger than the
#                   rest, the shape where a pipeliner can strand the big one
# The driver (--driver) is ninja (CMake's Ninja generator) or make (CMake's
# Unix Makefiles, run through a small makefile whose one recipe per object
# or link calls that target's own build.make with $(MAKE), as CMake's
# Makefile2 does, so the sub-makes share make's jobserver).
# Side by side in one run:
#   j1, j2, ...   -jK for K = 1, 2, ... N-1: the fixed -j's, searched
#                 upwards until one fails or hangs; the fastest that succeeds
#                 is "best fixed -j", the yardstick
#   jN            -jN                                       (fails or hangs)
#   swamp-signal  swamp-bpf --action signal -- DRIVER -jN   (SIGSTOP/SIGCONT)
#   swamp-freeze  swamp-bpf --action freeze -- DRIVER -jN   (optional)
#   swamp-again   swamp-signal once more, with the history the earlier swamp
#                 runs of this invocation recorded (the second build); every
#                 swamp variant uses a history database of its own in the
#                 temp dir, so swamp-signal is always a first build
# Real compilers under a limit without swap mostly thrash on their evicted
# file pages rather than die: every variant after the first fixed -j has a
# timeout of F x the best fixed -j's time so far (status "hung (timeout)");
# it then gets TERM (and CONT), and KILL 20 s later.
# For each: wall time, status, OOM kills and peak usage of the cgroup, major
# page faults in it (total_pgmajfault, cgroup v1 only), whether all outputs
# were built, and for swamp-bpf its stops, holds at exec and resumes (from its
# summary line). ratio = wall / best fixed -j's wall (target: swamp <= 1.10).
#
# Set-up (cached in --cache DIR, so reruns only rebuild): adds a deb-src
# stanza for deb.debian.org bookworm (/etc/apt/sources.list.d/
# swamp-bpf-bench-src.sources) unless one exists, runs apt-get update only if
# the source package is not known yet, installs cmake, ninja-build, make, g++
# and dpkg-dev if missing, apt-get source PACKAGE=VERSION, configures it once
# per driver and builds what the chosen outputs need but are not chosen
# themselves (cppcheck's other objects). None of that is timed. Each variant
# deletes the chosen outputs first, so all variants do the same work.
#
# Usage: tests/bench/realpkg.sh [--package NAME] [--driver ninja|make]
#            [--limit SIZE] [--jobs N] [--variants LIST]
#            [--timeout-factor F] [--json FILE] [--keep-logs] [--cache DIR]
#            [--trace]
#   --package         nlohmann-json3 (default), cppcheck or eigen3
#   --driver          ninja (default) or make
#   --limit           memory limit, e.g. 2G (default per package, one where
#                     -j4 does not fit: nlohmann-json3 2200M, where -j2
#                     fits; cppcheck 1600M and eigen3 2600M, where only
#                     -j1 did in our runs)
#   --jobs            N for the -jN variants (default 4)
#   --variants        comma-separated list of fixed, j<K>, jN, swamp-signal,
#                     swamp-freeze, swamp-again (default fixed,jN,swamp-signal,
#                     swamp-again). fixed is the
#                     search j1, j2, ... j<N-1> that stops at the first -j that
#                     fails or hangs; j<K> runs one fixed -j; j<N> means jN
#   --timeout-factor  F for the timeouts (default 2.5); the first fixed -j run
#                     has none
#   --json FILE       also write the results as one JSON object to FILE
#   --keep-logs       keep the per-variant logs (memcg-run's, the driver's and
#                     swamp-bpf's output) instead of removing them at the end
#   --cache DIR       where the sources and build dirs live (default
#                     /var/cache/swamp-bpf-bench)
#   --trace           swamp variants also write --trace-json to their log dir
#                     (implies --keep-logs)
# Output goes to stdout. Needs root, Debian 12 (bookworm) apt sources and a
# build (cmake --build build -j2). Takes 4-10 minutes a package and driver on
# 2 idle cores; the first run of a package also downloads its source (1-3 MB),
# configures, and for cppcheck builds the program once (~10 minutes).
set -euo pipefail

prog=realpkg.sh
die() { echo "$prog: $*" >&2; exit 2; }
usage() { sed -n '/^# Usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

cd "$(dirname "$0")/../.."
repo=$PWD
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh

# ---- arguments -------------------------------------------------------------------
package=nlohmann-json3 driver=ninja limit="" jobs=4 variants_arg="" json="" keep_logs=0 tfactor=2.5
cache=/var/cache/swamp-bpf-bench trace=0
while (($#)); do
    case $1 in
        --package) (($# >= 2)) || die "--package needs a value"; package=$2; shift 2 ;;
        --package=*) package=${1#*=}; shift ;;
        --driver) (($# >= 2)) || die "--driver needs a value"; driver=$2; shift 2 ;;
        --driver=*) driver=${1#*=}; shift ;;
        --limit) (($# >= 2)) || die "--limit needs a value"; limit=$2; shift 2 ;;
        --limit=*) limit=${1#*=}; shift ;;
        --jobs|-j) (($# >= 2)) || die "--jobs needs a value"; jobs=$2; shift 2 ;;
        --jobs=*) jobs=${1#*=}; shift ;;
        --variants) (($# >= 2)) || die "--variants needs a value"; variants_arg=$2; shift 2 ;;
        --variants=*) variants_arg=${1#*=}; shift ;;
        --timeout-factor) (($# >= 2)) || die "--timeout-factor needs a value"; tfactor=$2; shift 2 ;;
        --timeout-factor=*) tfactor=${1#*=}; shift ;;
        --json) (($# >= 2)) || die "--json needs a value"; json=$2; shift 2 ;;
        --json=*) json=${1#*=}; shift ;;
        --cache) (($# >= 2)) || die "--cache needs a value"; cache=$2; shift 2 ;;
        --cache=*) cache=${1#*=}; shift ;;
        --keep-logs) keep_logs=1; shift ;;
        --trace) trace=1; keep_logs=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument '$1'" ;;
    esac
done

# ---- the packages ---------------------------------------------------------------
# Each sets pkg, pkg_version, default_limit, cfg_extra (its cmake options),
# targets (the outputs every variant builds, relative to the build dir, in
# the order the driver is given them) and prebuild (a target built untimed
# first, for what the chosen outputs need but do not rebuild; or empty).
# The comments give each output's peak RSS and user time alone (g++ 12.2,
# -g -O2, measured with /usr/bin/time as the compiler launcher).
define_package() {
    case $1 in
    nlohmann-json3)
        pkg=nlohmann-json3 pkg_version=3.11.2-2 default_limit=2200M prebuild=""
        cfg_extra=(-DJSON_BuildTests=ON -DJSON_TestDataDirectory=/nonexistent)
        # four big (630-1020 MiB) and four small (240-370 MiB) TUs, about 130
        # CPU-s in all. ninja 1.11 starts them in build.ninja's order (this
        # one), whatever the command line's: the small ones first, the big
        # ones at the end, where both conversions TUs overlap even at -j2
        # (~1.9 GiB together).
        targets=(
            tests/CMakeFiles/test_main.dir/src/unit.cpp.o                               #  306 MiB,  5 s
            tests/CMakeFiles/test-allocator_cpp11.dir/src/unit-allocator.cpp.o          #  369 MiB,  4 s
            tests/CMakeFiles/test-assert_macro_cpp11.dir/src/unit-assert_macro.cpp.o    #  244 MiB,  2 s
            tests/CMakeFiles/test-bson_cpp11.dir/src/unit-bson.cpp.o                    #  631 MiB, 18 s
            tests/CMakeFiles/test-capacity_cpp11.dir/src/unit-capacity.cpp.o            #  326 MiB,  5 s
            tests/CMakeFiles/test-constructor1_cpp11.dir/src/unit-constructor1.cpp.o    #  710 MiB, 27 s
            tests/CMakeFiles/test-conversions_cpp11.dir/src/unit-conversions.cpp.o      #  898 MiB, 33 s
            tests/CMakeFiles/test-conversions_cpp17.dir/src/unit-conversions.cpp.o      # 1019 MiB, 33 s
        ) ;;
    cppcheck)
        pkg=cppcheck pkg_version=2.10-2 default_limit=1600M prebuild=cppcheck
        cfg_extra=(-DUSE_MATCHCOMPILER=OFF -DBUILD_TESTS=OFF -DUSE_BUNDLED_TINYXML2=ON)
        targets=(
            # 13 library TUs, the biggest (320-770 MiB, 10-44 s each, ~250 CPU-s
            # in all), then the program's link (360 MiB, 3 s), which waits for
            # them all; its other objects are built untimed first (prebuild).
            # The figures are cc1plus's; a job's assembler runs after it, so at
            # -j2 in 1600 MiB tokenize's `as` beside valueflow's cc1plus was
            # OOM-killed: there only -j1 fits.
            lib/CMakeFiles/cppcheck-core.dir/build/mc_valueflow.cpp.o           #  772 MiB, 44 s
            lib/CMakeFiles/cppcheck-core.dir/build/mc_tokenize.cpp.o            #  673 MiB, 41 s
            lib/CMakeFiles/cppcheck-core.dir/build/mc_symboldatabase.cpp.o      #  501 MiB, 26 s
            lib/CMakeFiles/cppcheck-core.dir/build/mc_templatesimplifier.cpp.o  #  452 MiB, 19 s
            lib/CMakeFiles/cppcheck-core.dir/build/mc_checkclass.cpp.o          #  442 MiB, 19 s
            lib/CMakeFiles/cppcheck-core.dir/build/mc_cppcheck.cpp.o            #  491 MiB, 18 s
            lib/CMakeFiles/cppcheck-core.dir/build/mc_checkother.cpp.o          #  449 MiB, 15 s
            lib/CMakeFiles/cppcheck-core.dir/build/mc_checkstl.cpp.o            #  458 MiB, 13 s
            lib/CMakeFiles/cppcheck-core.dir/build/mc_library.cpp.o             #  380 MiB, 13 s
            lib/CMakeFiles/cppcheck-core.dir/build/mc_preprocessor.cpp.o        #  361 MiB, 12 s
            lib/CMakeFiles/cppcheck-core.dir/build/mc_checkcondition.cpp.o      #  322 MiB, 12 s
            lib/CMakeFiles/cppcheck-core.dir/build/mc_programmemory.cpp.o       #  390 MiB, 12 s
            lib/CMakeFiles/cppcheck-core.dir/build/mc_astutils.cpp.o            #  332 MiB, 11 s
            bin/cppcheck                                                        #  357 MiB,  3 s (link)
        ) ;;
    eigen3)
        pkg=eigen3 pkg_version=3.4.0-4 default_limit=2600M prebuild=""
        cfg_extra=(-DBUILD_TESTING=ON -DEIGEN_BUILD_DOC=OFF)
        targets=(
            # Five test parts, one far bigger than the rest (~245 CPU-s in
            # all): at 2600 MiB product_large meets none of the others, so
            # -j2 fails and -j1 is the best fixed -j, while the other four
            # could run two at a time.
            test/CMakeFiles/product_large_1.dir/product_large.cpp.o             # 1981 MiB, 103 s
            test/CMakeFiles/lu_1.dir/lu.cpp.o                                   # 1485 MiB,  52 s
            test/CMakeFiles/array_cwise_1.dir/array_cwise.cpp.o                 # 1319 MiB,  40 s
            test/CMakeFiles/cholesky_1.dir/cholesky.cpp.o                       #  952 MiB,  30 s
            test/CMakeFiles/schur_complex_1.dir/schur_complex.cpp.o             #  790 MiB,  20 s
        ) ;;
    *) return 1 ;;
    esac
}
define_package "$package" || die "unknown --package '$package' (nlohmann-json3, cppcheck, eigen3)"
[[ $driver == ninja || $driver == make ]] || die "unknown --driver '$driver' (ninja, make)"
limit=${limit:-$default_limit}

[[ $jobs =~ ^[1-9][0-9]*$ && $jobs -ge 2 ]] || die "bad --jobs '$jobs' (an integer >= 2)"
[[ $tfactor =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v f="$tfactor" 'BEGIN { exit !(f >= 1) }' ||
    die "bad --timeout-factor '$tfactor' (a number >= 1)"
[[ $cache == /* ]] || die "--cache must be an absolute path"

limit_bytes=$(bench_size_bytes "$limit") || die "bad --limit '$limit' (e.g. 1900M, 2G)"
((limit_bytes > 0)) || die "--limit must be > 0"
limit_mib=$(awk -v b="$limit_bytes" 'BEGIN { printf "%.6g", b / 1048576 }')

# Requested variants; "fixed" stays a token, expanded while running.
variants=()
IFS=, read -r -a requested <<< "${variants_arg:-fixed,jN,swamp-signal,swamp-again}"
for v in "${requested[@]}"; do
    [[ $v == "j$jobs" ]] && v=jN
    case $v in
        fixed|jN|swamp-signal|swamp-freeze|swamp-again) ;;
        j[1-9]|j[1-9][0-9]) ;;
        *) die "unknown variant '$v' (fixed, j<K>, jN, swamp-signal, swamp-freeze, swamp-again)" ;;
    esac
    variants+=("$v")
done
((${#variants[@]})) || die "no variants given"
if dup=$(bench_first_repeat "${variants[@]}"); then die "variant '$dup' given twice"; fi

# ---- preconditions ------------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || { echo "$prog: must run as root (apt, memory cgroups, BPF)" >&2; exit 3; }
swamp=$repo/build/userspace/swamp-bpf
memcg=$repo/scripts/memcg-run.sh
need_swamp=0
for v in "${variants[@]}"; do [[ $v == swamp-* ]] && need_swamp=1; done
((need_swamp == 0)) || [[ -x $swamp ]] || die "missing $swamp: build first (cmake --build build -j2)"
[[ -x $memcg ]] || die "missing $memcg"
if [[ -n $json ]]; then
    touch "$json" 2>/dev/null || die "cannot write --json file '$json'"
fi
# shellcheck disable=SC1091
codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
[[ $codename == bookworm ]] || echo "$prog: warning: this is '$codename', not Debian 12 (bookworm)" >&2

# ---- temp dir and cgroups, cleaned up on every exit path ---------------------------------
# Each variant's memcg-run.sh creates its cgroup inside a parent of ours
# (MEMCG_PARENT), so that its fault counters outlive it and anything left
# behind can be found and killed without touching anybody else's processes.
v1_root=/sys/fs/cgroup/memory
cg_home=""
if [[ -f $v1_root/memory.limit_in_bytes ]]; then
    cg_home=$v1_root$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3; exit}' /proc/self/cgroup)
    cg_home=${cg_home%/}
    [[ -d $cg_home ]] || cg_home=$v1_root
fi
tmp=$(mktemp -d /tmp/swamp-realpkg.XXXXXX)
child="" parents=() lockfd=""
kill_tree() {  # DIR: CONT then KILL every process in a cgroup and below, then rmdir it all
    local dir=$1 pid tries
    [[ -d $dir ]] || return 0
    for tries in 1 2 3 4 5 6 7 8 9 10; do
        while read -r pid; do
            [[ -n $pid && $pid != "$$" ]] && { kill -CONT "$pid"; kill -KILL "$pid"; } 2>/dev/null
        done < <(find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null)
        find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
        [[ -d $dir ]] || return 0
        sleep 0.3
    done
    echo "$prog: warning: could not remove $dir" >&2
}
cleanup() {
    local rc=$? p
    set +e    # a failing wait or rm must not end the cleanup early
    trap - EXIT INT TERM HUP
    [[ -n ${sleeper:-} ]] && kill "$sleeper" 2>/dev/null   # a timeout's (run_variant's local)
    if [[ -n $child ]] && kill -0 "$child" 2>/dev/null; then
        # memcg-run.sh forwards TERM (and CONT) to its cgroup and removes it
        kill -TERM "$child" 2>/dev/null
        local i
        for i in $(seq 50); do kill -0 "$child" 2>/dev/null || break; sleep 0.2; done
    fi
    for p in "${parents[@]}"; do kill_tree "$p"; done
    [[ -n $child ]] && wait "$child" 2>/dev/null
    bench_drop_logs "$keep_logs" "$tmp"
    exit "$rc"
}
trap cleanup EXIT
bench_signal_traps
mkdir -p "$tmp/logs"

# ---- set-up from Debian packages (cached) ----------------------------------------------
mkdir -p "$cache"
exec {lockfd}> "$cache/.lock"
flock -n "$lockfd" || { echo "$prog: waiting for another run's lock on $cache" >&2; flock "$lockfd"; }

missing=()
for p in cmake ninja-build make g++ dpkg-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >"$tmp/logs/apt.log" 2>&1 ||
        { tail -5 "$tmp/logs/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
fi

src=$cache/$pkg-${pkg_version%-*}
if [[ ! -f $src/.swamp-unpacked ]]; then
    if ! grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        echo "enabling deb-src (/etc/apt/sources.list.d/swamp-bpf-bench-src.sources)"
        cat > /etc/apt/sources.list.d/swamp-bpf-bench-src.sources <<'EOF'
# Added by swamp-bpf tests/bench/realpkg.sh: source packages for its real compiler benchmark
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    fi
    if ! apt-cache showsrc "$pkg" 2>/dev/null | grep -qx "Version: $pkg_version"; then
        echo "apt-get update"
        apt-get update >"$tmp/logs/apt.log" 2>&1 || { tail -5 "$tmp/logs/apt.log" >&2; die "apt-get update failed"; }
    fi
    echo "apt-get source $pkg=$pkg_version into $cache"
    rm -rf "$src"
    (cd "$cache" && apt-get source "$pkg=$pkg_version") >"$tmp/logs/apt.log" 2>&1 ||
        { tail -5 "$tmp/logs/apt.log" >&2; die "apt-get source $pkg=$pkg_version failed"; }
    [[ -f $src/CMakeLists.txt ]] || die "no $src/CMakeLists.txt after apt-get source"
    touch "$src/.swamp-unpacked"
fi

bdir=$cache/$pkg-$driver
cxxflags=$(cd "$src" && dpkg-buildflags --get CXXFLAGS)
generator=Ninja; [[ $driver == make ]] && generator="Unix Makefiles"
cfg=(cmake -G "$generator" -S "$src" -B "$bdir" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_COMPILER=/usr/bin/g++
     -DCMAKE_C_COMPILER=/usr/bin/gcc "-DCMAKE_CXX_FLAGS=$cxxflags" "${cfg_extra[@]}")
if [[ ! -f $bdir/.swamp-configured || $(cat "$bdir/.swamp-configured" 2>/dev/null) != "${cfg[*]}" ]]; then
    echo "configuring $pkg (cmake -G '$generator', not timed)"
    rm -rf "$bdir"
    "${cfg[@]}" >"$tmp/logs/configure.log" 2>&1 || { tail -5 "$tmp/logs/configure.log" >&2; die "cmake failed"; }
    printf '%s' "${cfg[*]}" > "$bdir/.swamp-configured"
fi
# Anything but the chosen outputs (a re-run of cmake, the prebuild) must not
# be timed.
if [[ $driver == ninja ]]; then
    ninja -C "$bdir" build.ninja >/dev/null || die "ninja build.ninja failed"
    for t in "${targets[@]}"; do
        ninja -C "$bdir" -t query "$t" >/dev/null 2>&1 || die "no target $t in $bdir"
    done
    if [[ -n $prebuild ]]; then
        echo "building $prebuild once (not timed)"
        nice ninja -C "$bdir" -j"$(nproc)" "$prebuild" >"$tmp/logs/prebuild.log" 2>&1 ||
            { tail -5 "$tmp/logs/prebuild.log" >&2; die "building $prebuild failed"; }
    fi
else
    make -C "$bdir" cmake_check_build_system >/dev/null || die "cmake's check in $bdir failed"
    if [[ -n $prebuild ]]; then
        echo "building $prebuild once (not timed)"
        nice make -C "$bdir" -j"$(nproc)" "$prebuild" >"$tmp/logs/prebuild.log" 2>&1 ||
            { tail -5 "$tmp/logs/prebuild.log" >&2; die "building $prebuild failed"; }
    fi
    # The makefile the make variants run: one rule per output that calls the
    # build.make of the CMake target making it, in the build dir, as CMake's
    # Makefile2 does (the + passes make's jobserver down). A link waits for
    # every object before it in the list.
    mk=$bdir/swamp-bench.mk
    {
        echo "# written by swamp-bpf's tests/bench/realpkg.sh"
        echo ".PHONY: all ${targets[*]}"
        echo "all: ${targets[*]}"
        objs=()
        for t in "${targets[@]}"; do
            if [[ $t == *.o ]]; then
                bm=${t%%.dir/*}.dir/build.make
                deps=""
            else
                bm=$(awk -v t="$t:" 'index($0, t) == 1 { print FILENAME; exit }' \
                     "$bdir"/CMakeFiles/*.dir/build.make "$bdir"/*/CMakeFiles/*.dir/build.make 2>/dev/null)
                bm=${bm#"$bdir"/}
                deps=${objs[*]}
            fi
            [[ -n $bm && -f $bdir/$bm ]] || die "no build.make in $bdir makes $t"
            printf '%s: %s\n\t+@$(MAKE) -s -f %s %s\n' "$t" "$deps" "$bm" "$t"
            objs+=("$t")
        done
    } > "$mk"
fi

# ---- running one variant ------------------------------------------------------------------
label() {
    case $1 in
        jN) echo "$driver -j$jobs" ;;
        j*) echo "$driver -${1}" ;;
        swamp-signal) echo "swamp signal -j$jobs" ;;
        swamp-freeze) echo "swamp freeze -j$jobs" ;;
        swamp-again) echo "swamp again -j$jobs" ;;
    esac
}
njobs_of() { case $1 in j[0-9]*) echo "${1#j}" ;; *) echo "$jobs" ;; esac; }
child_cpu() {  # user and system CPU seconds of this shell's reaped children so far
    awk -v t="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f %.2f\n", $14 / t, $15 / t }' /proc/$$/stat
}
declare -A wall status ok ooms peak majflt outs_n user_s sys_s stops holds resumes dl_resumes tree_rss tmo_of
order=()
run_variant() {  # VARIANT TIMEOUT_S KIND: KIND "hang" or "cut" names what a timeout means
    local v=$1 tmo=$2 kind=$3 n log parent rc=0 u0 s0 u1 s1 t0 t1 timed_out=0 sleeper="" done_pid="" d have t
    n=$(njobs_of "$v") log=$tmp/logs/$v.log
    order+=("$v") tmo_of[$v]=$tmo
    local cmd=(ninja -C "$bdir" "-j$n" "${targets[@]}")
    [[ $driver == make ]] && cmd=(make -C "$bdir" -f swamp-bench.mk "-j$n")
    local tr=()
    ((trace)) && tr=(--trace-json --trace-output "$tmp/logs/$v.trace.jsonl")
    local hist=(--history-db "$tmp/history.db")  # this invocation's own: swamp-signal is a first build
    case $v in
        swamp-signal|swamp-again) cmd=("$swamp" --action signal "${hist[@]}" "${tr[@]}" -- "${cmd[@]}") ;;
        swamp-freeze) cmd=("$swamp" --action freeze "${hist[@]}" "${tr[@]}" -- "${cmd[@]}") ;;
    esac
    for t in "${targets[@]}"; do rm -f "$bdir/$t" "$bdir/$t.d"; done
    parent=""
    if [[ -n $cg_home ]]; then
        parent=$cg_home/swamp-realpkg-$$-$v
        mkdir "$parent" && parents+=("$parent") || parent=""
    fi
    printf '%-13s %-20s %-9s ... ' "$v" "$(label "$v")" "${tmo:+<${tmo}s}"
    sync
    read -r u0 s0 <<< "$(child_cpu)"
    t0=$(date +%s.%N)
    # In the background so that a signal to this script is handled at once
    # (the trap then stops this child by its pid).
    MEMCG_PARENT=${parent:-} "$memcg" --limit "$limit" --name "realpkg-$v" -- "${cmd[@]}" \
        </dev/null >"$tmp/logs/$v.out" 2>"$log" {lockfd}>&- &
    child=$!
    if [[ -n $tmo ]]; then
        sleep "$tmo" {lockfd}>&- &   # the lock is this script's only: no child keeps it
        sleeper=$!
        wait -n -p done_pid "$child" "$sleeper" || true
        if [[ ${done_pid:-} == "$sleeper" ]] || { [[ -z ${done_pid:-} ]] && kill -0 "$child" 2>/dev/null; }; then
            timed_out=1
            kill -TERM "$child" 2>/dev/null   # memcg-run.sh: TERM and CONT to all of its cgroup
            for _ in $(seq 100); do kill -0 "$child" 2>/dev/null || break; sleep 0.2; done
            if kill -0 "$child" 2>/dev/null && [[ -n $parent ]]; then
                for d in "$parent"/*/; do [[ -d $d ]] && kill_tree "${d%/}"; done
            fi
        else
            kill "$sleeper" 2>/dev/null
        fi
        wait "$sleeper" 2>/dev/null || true
    fi
    wait "$child" || rc=$?
    t1=$(date +%s.%N)
    child=""
    read -r u1 s1 <<< "$(child_cpu)"
    wall[$v]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    user_s[$v]=$(awk -v a="$u0" -v b="$u1" 'BEGIN { printf "%.1f", b - a }')
    sys_s[$v]=$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.1f", b - a }')
    ooms[$v]=$(sed -n 's/^oom_kills=\([0-9]*\)$/\1/p' "$log" | tail -1)
    peak[$v]=$(sed -n 's/^max_usage_mib=\([0-9]*\)$/\1/p' "$log" | tail -1)
    majflt[$v]=""
    if [[ -n $parent ]]; then
        majflt[$v]=$(awk '$1 == "total_pgmajfault" { print $2 }' "$parent/memory.stat" 2>/dev/null)
        kill_tree "$parent"
    fi
    have=0
    for t in "${targets[@]}"; do [[ -s $bdir/$t ]] && have=$((have + 1)); done
    outs_n[$v]=$have
    if ((timed_out)); then
        [[ $kind == cut ]] && status[$v]="cut (slower)" || status[$v]="hung (timeout)"
    elif ((${ooms[$v]:-0} > 0)); then status[$v]="oom-killed"
    elif ((rc != 0)); then status[$v]="failed ($rc)"
    elif ((have != ${#targets[@]})); then status[$v]="incomplete"
    else status[$v]=ok
    fi
    [[ ${status[$v]} == ok ]] && ok[$v]=true || ok[$v]=false
    local summary
    summary=$(bench_swamp_summary "$log")
    if [[ $v == swamp-* && -n $summary ]]; then
        read -r "stops[$v]" "holds[$v]" "resumes[$v]" "dl_resumes[$v]" "tree_rss[$v]" _ <<< "$summary"
    fi
    printf '%7.1f s, %s, oom_kills %s, objects %d/%d, user %s s\n' "${wall[$v]}" "${status[$v]}" \
        "${ooms[$v]:-?}" "$have" "${#targets[@]}" "${user_s[$v]}"
    if [[ $v == swamp-* && -z $summary ]]; then
        echo "  (no swamp-bpf summary line; its stderr:)"
        grep -v -E '^(oom_kills|max_usage_mib)=' "$log" | tail -5 | sed 's/^/  | /'
    fi
    if [[ ${status[$v]} == failed* || ${status[$v]} == incomplete ]]; then
        grep -m3 -E 'FAILED|error' "$tmp/logs/$v.out" | sed 's/^/  | /' || true
    fi
}

best=""   # the fastest fixed -j that succeeded
update_best() {
    [[ ${ok[$1]} == true && $1 != jN && $1 == j* ]] || return 0
    if [[ -z $best ]] || awk -v a="${wall[$1]}" -v b="${wall[$best]}" 'BEGIN { exit !(a < b) }'; then best=$1; fi
}
times_best() { awk -v w="${wall[$best]}" -v f="$1" 'BEGIN { printf "%.0f", w * f + 0.5 }'; }
requested_has() { local w; for w in "${variants[@]}"; do [[ $w == "$1" ]] && return 0; done; return 1; }

# The search for the best fixed -j. It starts at K0 = min(cores, N-1): on
# `cores` cores a lower -j can only be faster if K0 thrashes. Upwards from K0
# while each -j succeeds and is faster than the best so far: a run that gets
# slower than 1.1x the best is cut short ("cut (slower)"), since it cannot be
# the best. Downwards from K0 while none succeeded, or while the best wall
# time is above the lower -j's bound user_s/K of the best run's CPU time.
fixed_search() {
    local cores k k0 up_ok=1 tmo
    cores=$(nproc)
    k0=$((cores < jobs - 1 ? cores : jobs - 1))
    for ((k = k0; k < jobs; k++)); do
        requested_has "j$k" && continue
        tmo=""; [[ -n $best ]] && tmo=$(times_best 1.1)
        run_variant "j$k" "$tmo" cut
        update_best "j$k"
        [[ $best == "j$k" ]] || break
    done
    for ((k = k0 - 1; k >= 1; k--)); do
        requested_has "j$k" && continue
        if [[ -n $best ]] && awk -v u="${user_s[$best]}" -v k="$k" -v w="${wall[$best]}" \
            'BEGIN { exit !(u / k >= w) }'; then
            echo "j$k           skipped: its bound user_s/$k = ${user_s[$best]}/$k >= best ${wall[$best]} s ($best)"
            break
        fi
        tmo=""; [[ -n $best ]] && tmo=$(times_best 1.1)
        run_variant "j$k" "$tmo" cut
        update_best "j$k"
    done
}

echo "$pkg $pkg_version by $driver: ${#targets[@]} outputs, g++ $(g++ -dumpfullversion) CXXFLAGS '$cxxflags'"
load_start=$(cut -d' ' -f1 /proc/loadavg)
echo "limit $limit (${limit_mib} MiB), -j$jobs, $(nproc) cores, timeout factor $tfactor; variants: ${variants[*]}"
echo "load average at start $load_start (timings assume an otherwise idle machine)"
script_t0=$(date +%s.%N)

# ---- run the variants ------------------------------------------------------------------------
for v in "${variants[@]}"; do
    case $v in
        fixed) fixed_search ;;
        j[0-9]*)
            tmo=""; [[ -n $best ]] && tmo=$(times_best "$tfactor")
            run_variant "$v" "$tmo" hang
            update_best "$v" ;;
        *)
            tmo=""; [[ -n $best ]] && tmo=$(times_best "$tfactor")
            run_variant "$v" "$tmo" hang ;;
    esac
done
script_wall=$(awk -v a="$script_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')

# ---- results -------------------------------------------------------------------------------------
ratio() {  # VARIANT -> its wall / best fixed -j's wall, or empty
    [[ -n $best ]] || return 0
    awk -v w="${wall[$1]}" -v b="${wall[$best]}" 'BEGIN { if (b > 0) printf "%.2f", w / b }'
}
echo
row() { printf '%-13s %-19s %7s %-15s %5s %5s %8s %8s %7s %5s %5s %7s %6s\n' "$@"; }
row variant command wall_s status ok ooms peak_mib majflt objects stops holds resumes ratio
failed=0
for v in "${order[@]}"; do
    r=$(ratio "$v") mark=""
    # a failed build's time is not a build time: mark its ratio
    [[ ${ok[$v]} == true ]] || { mark="*"; failed=1; }
    r=${r:+$r$mark}
    row "$v" "$(label "$v")" "${wall[$v]}" "${status[$v]}" "${ok[$v]}" "${ooms[$v]:--}" "${peak[$v]:--}" \
        "${majflt[$v]:--}" "${outs_n[$v]}/${#targets[@]}" "${stops[$v]:--}" "${holds[$v]:--}" \
        "${resumes[$v]:--}" "${r:--}"
done
((failed == 0)) || echo "* not ok (failed, hung or cut short): its time is not a build time"
echo
if [[ -n $best ]]; then
    echo "best fixed -j: $best, ${wall[$best]} s (user ${user_s[$best]} s, sys ${sys_s[$best]} s of CPU)"
else
    echo "best fixed -j: none succeeded under $limit"
fi
for v in "${order[@]}"; do
    [[ $v == swamp-* && -n $best ]] || continue
    r="ratio $(ratio "$v")"
    [[ ${ok[$v]} == true ]] || r="not ok (${status[$v]}), no ratio"
    echo "$v: $r to $best (target <= 1.10), user ${user_s[$v]} s, sys ${sys_s[$v]} s"
done
load_end=$(cut -d' ' -f1 /proc/loadavg)
echo "load average: $load_start at start, $load_end at end; all variants took ${script_wall} s"
echo "ratio = wall / best fixed -j's wall; ok = status 0, no OOM kill, all outputs built, no timeout"

# ---- JSON ----------------------------------------------------------------------------------------------
if [[ -n $json ]]; then
    num() { bench_json_num "$@"; }
    str() { bench_json_str "$@"; }
    {
        printf '{\n  "package": "%s",\n  "version": "%s",\n  "driver": "%s",\n  "objects": %s,\n' \
            "$pkg" "$pkg_version" "$driver" "${#targets[@]}"
        printf '  "limit": "%s",\n  "limit_mib": %s,\n  "jobs": %s,\n  "cores": %s,\n  "timeout_factor": %s,\n' \
            "$limit" "$limit_mib" "$jobs" "$(nproc)" "$tfactor"
        printf '  "best_fixed": %s,\n  "best_fixed_wall_s": %s,\n' "$(str "$best")" "$(num "${best:+${wall[$best]}}")"
        printf '  "loadavg_start": %s,\n  "loadavg_end": %s,\n  "total_wall_s": %s,\n  "variants": [\n' \
            "$load_start" "$load_end" "$script_wall"
        sep=""
        for v in "${order[@]}"; do
            printf '%s    {"variant": "%s", "command": "%s", "make_jobs": %s, "wall_s": %s, "timeout_s": %s, ' \
                "$sep" "$v" "$(label "$v")" "$(njobs_of "$v")" "${wall[$v]}" "$(num "${tmo_of[$v]}")"
            printf '"status": "%s", "ok": %s, "oom_kills": %s, "max_usage_mib": %s, "majflt": %s, ' \
                "${status[$v]}" "${ok[$v]}" "$(num "${ooms[$v]:-}")" "$(num "${peak[$v]:-}")" "$(num "${majflt[$v]:-}")"
            printf '"objects_built": %s, "user_s": %s, "sys_s": %s, ' "${outs_n[$v]}" "${user_s[$v]}" "${sys_s[$v]}"
            if [[ $v == swamp-* ]]; then
                printf '"stops": %s, "holds": %s, "resumes": %s, "deadlock_resumes": %s, "peak_tree_rss": %s, ' \
                    "$(num "${stops[$v]:-}")" "$(num "${holds[$v]:-}")" "$(num "${resumes[$v]:-}")" \
                    "$(num "${dl_resumes[$v]:-}")" "$(str "${tree_rss[$v]:-}")"
            else
                printf '"stops": null, "holds": null, "resumes": null, '
            fi
            printf '"ratio_to_best_fixed": %s}' "$(num "$(ratio "$v")")"
            sep=$',\n'
        done
        printf '\n  ]\n}\n'
    } > "$json"
    echo "JSON written to $json"
fi
