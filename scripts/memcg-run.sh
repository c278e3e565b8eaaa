#!/usr/bin/env bash
# memcg-run.sh [--limit SIZE] [--swap-ok] [--name NAME] -- CMD...
#
# Runs CMD inside a fresh memory cgroup with a hard memory limit, the way a
# small build machine would, then reports on stderr:
#   oom_kills=N        processes the kernel OOM-killed in the cgroup
#   max_usage_mib=N    peak memory usage of the cgroup
# and exits with CMD's exit status.
#
# SIZE: bytes, or with a K/M/G/T suffix (1024-based), e.g. 1200M, 2G.
#       Without --limit the cgroup is unlimited (useful to measure the peak).
# --swap-ok  let the cgroup use swap beyond the limit. By default memory+swap
#            is limited to SIZE too (memsw / memory.swap.max=0), so exceeding
#            the limit means an OOM kill rather than swapping.
# --name     part of the cgroup's name: swamp-test-NAME-PID (default: run).
#
# cgroup v1 (memory controller mounted at /sys/fs/cgroup/memory) is used when
# present. The cgroup is created inside the caller's own memory cgroup (on a
# normal machine that is the root, /sys/fs/cgroup/memory/swamp-test-...),
# so a supervisor's accounting of the caller still holds; MEMCG_PARENT=DIR
# overrides where it is created. Otherwise cgroup v2 is used (a cgroup2 mount
# whose root offers the memory controller), with memory.max, memory.swap.max
# and memory.events. Needs root.
#
# On every exit path (normal, error, INT/TERM/HUP) the script moves itself
# back to the cgroup it came from, kills whatever is still running in the
# test cgroup (it was all started by CMD) and removes the cgroup.
set -uo pipefail

prog=memcg-run.sh
die() { echo "$prog: $*" >&2; exit 2; }
usage() {
    echo "usage: $prog [--limit SIZE] [--swap-ok] [--name NAME] -- CMD..." >&2
    exit 2
}

limit="" swap_ok=0 name=run
while (($#)); do
    case $1 in
        --limit) (($# >= 2)) || usage; limit=$2; shift 2 ;;
        --limit=*) limit=${1#*=}; shift ;;
        --swap-ok) swap_ok=1; shift ;;
        --name) (($# >= 2)) || usage; name=$2; shift 2 ;;
        --name=*) name=${1#*=}; shift ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        --) shift; break ;;
        *) usage ;;
    esac
done
(($#)) || usage
[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || die "bad --name '$name' (letters, digits, . _ - only)"

# SIZE -> bytes
limit_bytes=""
if [[ -n $limit ]]; then
    [[ $limit =~ ^([0-9]+)([KkMmGgTt]?)(i?[Bb])?$ ]] || die "bad --limit '$limit' (e.g. 1200M, 2G, 1073741824)"
    n=${BASH_REMATCH[1]}
    case ${BASH_REMATCH[2]} in
        K|k) limit_bytes=$((n << 10)) ;;
        M|m) limit_bytes=$((n << 20)) ;;
        G|g) limit_bytes=$((n << 30)) ;;
        T|t) limit_bytes=$((n << 40)) ;;
        *) limit_bytes=$n ;;
    esac
    ((limit_bytes > 0)) || die "--limit must be > 0"
fi
[[ $(id -u) -eq 0 ]] || die "must run as root (it creates cgroups)"

# ---- pick a cgroup hierarchy -------------------------------------------------
mode="" cg="" home=""
v1_root=/sys/fs/cgroup/memory
if [[ -f $v1_root/memory.limit_in_bytes && -f $v1_root/cgroup.procs ]]; then
    mode=v1
    rel=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3; exit}' /proc/self/cgroup)
    home=$v1_root${rel%/}
    [[ -d $home ]] || home=$v1_root
    cg=${MEMCG_PARENT:-$home}/swamp-test-$name-$$
else
    v2_root=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
    if [[ -n $v2_root ]] && grep -qw memory "$v2_root/cgroup.controllers" 2>/dev/null; then
        mode=v2
        rel=$(awk -F: '$1 == "0" {print $3; exit}' /proc/self/cgroup)
        home=$v2_root${rel%/}
        [[ -d $home ]] || home=$v2_root
        # Created under the hierarchy's root: the root is exempt from the
        # "no internal processes" rule, so enabling +memory there always works.
        parent=${MEMCG_PARENT:-$v2_root}
        grep -qw memory "$parent/cgroup.subtree_control" ||
            echo +memory > "$parent/cgroup.subtree_control" ||
            die "cannot enable the memory controller in $parent"
        cg=$parent/swamp-test-$name-$$
    fi
fi
[[ -n $mode ]] || die "no usable memory cgroup: neither cgroup v1 memory at $v1_root nor a cgroup2 mount with the memory controller"

# ---- cleanup, on every exit path ----------------------------------------------
child="" status=2
cleanup() {
    trap - EXIT INT TERM HUP
    [[ -d $cg ]] || exit "$status"
    # Report before anything else changes the counters.
    local kills=0 peak=""
    if [[ $mode == v1 ]]; then
        kills=$(awk '$1 == "oom_kill" {print $2}' "$cg/memory.oom_control" 2>/dev/null)
        peak=$(cat "$cg/memory.max_usage_in_bytes" 2>/dev/null)
    else
        kills=$(awk '$1 == "oom_kill" {print $2}' "$cg/memory.events" 2>/dev/null)
        peak=$(cat "$cg/memory.peak" 2>/dev/null)   # kernel >= 5.19
    fi
    echo "oom_kills=${kills:-0}" >&2
    echo "max_usage_mib=$(( ${peak:-0} >> 20 ))" >&2
    # Leave the cgroup, then kill anything CMD left behind in it (e.g. after
    # INT/TERM, or daemonised children), and remove it.
    echo $$ > "$home/cgroup.procs" 2>/dev/null || echo $$ > "${home%/*}/cgroup.procs" 2>/dev/null
    local pid tries
    for tries in 1 2 3 4 5 6 7 8 9 10; do
        rmdir "$cg" 2>/dev/null && break
        while read -r pid; do
            [[ -n $pid && $pid != "$$" ]] && kill -KILL "$pid" 2>/dev/null
        done < "$cg/cgroup.procs"
        sleep 0.2
    done
    [[ -d $cg ]] && echo "$prog: warning: could not remove $cg" >&2
    exit "$status"
}
on_signal() {
    # Forward to everything in the cgroup (CMD's children may be SIGSTOPped
    # by the throttler: SIGCONT so they can act on it), then clean up.
    local pid
    while read -r pid; do
        [[ -n $pid && $pid != "$$" ]] && kill -TERM "$pid" 2>/dev/null && kill -CONT "$pid" 2>/dev/null
    done < "$cg/cgroup.procs" 2>/dev/null
    [[ -n $child ]] && wait "$child" 2>/dev/null
    status=$1
    cleanup
}

mkdir "$cg" || die "cannot create $cg"
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP

# ---- set the limit -------------------------------------------------------------
if [[ $mode == v1 ]]; then
    if [[ -n $limit_bytes ]]; then
        echo "$limit_bytes" > "$cg/memory.limit_in_bytes" || die "cannot set memory.limit_in_bytes"
        if ((!swap_ok)) && [[ -f $cg/memory.memsw.limit_in_bytes ]]; then
            echo "$limit_bytes" > "$cg/memory.memsw.limit_in_bytes" || die "cannot set memory.memsw.limit_in_bytes"
        fi
    fi
else
    [[ -n $limit_bytes ]] && { echo "$limit_bytes" > "$cg/memory.max" || die "cannot set memory.max"; }
    if ((!swap_ok)) && [[ -f $cg/memory.swap.max ]]; then
        echo 0 > "$cg/memory.swap.max" || die "cannot set memory.swap.max"
    fi
fi

# ---- run -------------------------------------------------------------------------
echo $$ > "$cg/cgroup.procs" || die "cannot move into $cg"
# In the background so that a signal to this script is handled at once. A
# background job of a script would start with SIGINT/SIGQUIT ignored and
# stdin on /dev/null: the subshell restores both (the explicit 0<&0 keeps
# stdin), so CMD behaves as in the foreground, e.g. on Ctrl-C.
( trap - INT QUIT; exec "$@" ) 0<&0 &
child=$!
wait "$child"
status=$?
exit "$status"
