#!/usr/bin/env bash
# memcg-run.sh [--limit SIZE] [--swap-ok | --swap-sd SIZE] [--name NAME] -- CMD...
#
# Runs CMD inside a fresh memory cgroup with a hard memory limit, the way a
# small build machine would, then reports on stderr:
#   oom_kills=N        processes the kernel OOM-killed in the cgroup
#   max_usage_mib=N    peak memory usage of the cgroup
#   major_faults=N     major page faults in the cgroup (memory.stat:
#                      v1 total_pgmajfault, v2 pgmajfault)
#   swap_in_mib=N      pages swapped in and out during the run, in MiB, from
#   swap_out_mib=N     /proc/vmstat pswpin/pswpout: HOST-WIDE, so they count
#                      any other cgroup's swapping at the same time too
# with --swap-sd also the reads and writes on its swap device during the run
# (/sys/block/loopN/stat; only this run swaps there unless another cgroup
# that may swap does so at the same time):
#   swap_dev_read_mib=N   swap_dev_write_mib=N
# and exits with CMD's exit status.
#
# SIZE: bytes, or with a K/M/G/T suffix (1024-based), e.g. 1200M, 2G.
#       Without --limit the cgroup is unlimited (useful to measure the peak).
# --swap-ok  let the cgroup use swap beyond the limit. By default memory+swap
#            is limited to SIZE too (memsw / memory.swap.max=0), so exceeding
#            the limit means an OOM kill rather than swapping.
# --swap-sd SIZE  emulate a small board swapping to an SD card: a swap file of
#            SIZE (in SWAPSD_DIR, default /var/tmp, not a tmpfs; unlinked once
#            attached) on a loop device, swapped on at the highest priority
#            (so it is the swap used), throttled to a microSD card's speed by
#            cgroup v1 blkio rules for that loop device: 20 MiB/s read and
#            10 MiB/s write. The rules sit in the root blkio cgroup, so they
#            cover every swap-in and swap-out, whichever task or cgroup the
#            kernel charges the I/O to (swap-outs from the cgroup's reclaim
#            are charged to the root). memory+swap is limited to the limit +
#            SIZE. Env overrides, in bytes/s or I/O/s, 0 = none:
#            SWAPSD_READ_BPS, SWAPSD_WRITE_BPS, SWAPSD_READ_IOPS,
#            SWAPSD_WRITE_IOPS (default 0: the throttle counts bios before
#            they merge, and swap I/O is mostly one 4 KiB page a bio, so an
#            A1 card's 1500/500 IOPS would cap it near 6/2 MB/s, below what a
#            card does for swap's mostly sequential runs). Needs the cgroup v1
#            blkio controller. A loop device left by a killed earlier run
#            (backing file swamp-swapsd-PID.img of a PID that is gone) is
#            unthrottled, swapped off and detached first.
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
# test cgroup (it was all started by CMD) and removes the cgroup; with
# --swap-sd it also swaps off and detaches the loop device and removes the
# blkio cgroup.
set -uo pipefail

prog=memcg-run.sh
die() { echo "$prog: $*" >&2; exit 2; }
usage() {
    echo "usage: $prog [--limit SIZE] [--swap-ok | --swap-sd SIZE] [--name NAME] -- CMD..." >&2
    exit 2
}

limit="" swap_ok=0 swap_sd="" name=run
while (($#)); do
    case $1 in
        --limit) (($# >= 2)) || usage; limit=$2; shift 2 ;;
        --limit=*) limit=${1#*=}; shift ;;
        --swap-ok) swap_ok=1; shift ;;
        --swap-sd) (($# >= 2)) || usage; swap_sd=$2; shift 2 ;;
        --swap-sd=*) swap_sd=${1#*=}; shift ;;
        --name) (($# >= 2)) || usage; name=$2; shift 2 ;;
        --name=*) name=${1#*=}; shift ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        --) shift; break ;;
        *) usage ;;
    esac
done
(($#)) || usage
[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || die "bad --name '$name' (letters, digits, . _ - only)"

# SIZE -> bytes, into the variable named $1 (empty SIZE: empty)
size_bytes() {
    local -n out=$1
    local opt=$2 v=$3 n
    out=""
    [[ -n $v ]] || return 0
    [[ $v =~ ^([0-9]+)([KkMmGgTt]?)(i?[Bb])?$ ]] || die "bad $opt '$v' (e.g. 1200M, 2G, 1073741824)"
    n=$((10#${BASH_REMATCH[1]}))
    case ${BASH_REMATCH[2]} in
        K|k) out=$((n << 10)) ;;
        M|m) out=$((n << 20)) ;;
        G|g) out=$((n << 30)) ;;
        T|t) out=$((n << 40)) ;;
        *) out=$n ;;
    esac
    ((out > 0)) || die "$opt must be > 0"
}
size_bytes limit_bytes --limit "$limit"
size_bytes sd_bytes --swap-sd "$swap_sd"
if [[ -n $sd_bytes ]]; then
    ((!swap_ok)) || die "--swap-ok and --swap-sd exclude each other"
    swap_ok=1
    ((sd_bytes >= 40 << 10)) || die "--swap-sd must be at least 40K (mkswap's minimum)"
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

# ---- SD-card swap (--swap-sd) ----------------------------------------------------
# The throttle rules go on the root blkio cgroup, for the loop device only
# (nobody else uses it). Not on a child cgroup holding CMD: with the memory
# controller on v1, swap-out bios are charged to the blkio cgroup of the
# page's memcg (bio_associate_blkg_from_page), which on a separate hierarchy
# is the root, so a child's write limit never sees them (measured: a child's
# blkio.throttle.io_service_bytes counted swap-ins only, writes 0).
sd_tag=swamp-swapsd            # backing file $sd_tag-PID.img
blk_root=/sys/fs/cgroup/blkio
sd_rules=(read_bps_device:SWAPSD_READ_BPS write_bps_device:SWAPSD_WRITE_BPS
          read_iops_device:SWAPSD_READ_IOPS write_iops_device:SWAPSD_WRITE_IOPS)
sd_file="" sd_loop="" sd_on=0 sd_dev="" sd_stat0=""
ours_alive() {  # PID -> true while that PID is a live memcg-run.sh
    [[ $1 != "$$" ]] && kill -0 "$1" 2>/dev/null && grep -qa memcg-run "/proc/$1/cmdline" 2>/dev/null
}
sd_unthrottle() {  # MAJ:MIN -> remove its rules from the root blkio cgroup
    local r
    for r in "${sd_rules[@]}"; do
        grep -q "^$1 " "$blk_root/blkio.throttle.${r%%:*}" 2>/dev/null &&
            echo "$1 0" > "$blk_root/blkio.throttle.${r%%:*}"
    done
}
sd_reap_stale() {
    # Loop devices (with their swap and throttle rules) and files of
    # --swap-sd runs whose script is gone (SIGKILL, a crash).
    local dev back f
    while read -r dev back; do
        [[ $back =~ /$sd_tag-([0-9]+)\.img ]] || continue
        ours_alive "${BASH_REMATCH[1]}" && continue
        echo "$prog: removing the stale swap device $dev ($back)" >&2
        sd_unthrottle "$(cat "/sys/class/block/${dev##*/}/dev")"
        swapoff "$dev" 2>/dev/null
        losetup -d "$dev" || echo "$prog: warning: cannot detach $dev" >&2
    done < <(losetup -l -n -O NAME,BACK-FILE 2>/dev/null)
    for f in "$sd_dir/$sd_tag"-*.img; do
        [[ -f $f && ${f##*/} =~ ^$sd_tag-([0-9]+)\.img$ ]] || continue
        ours_alive "${BASH_REMATCH[1]}" || rm -f "$f"
    done
}
sd_sectors() { awk '{print $3, $7}' "/sys/class/block/${sd_loop##*/}/stat"; }  # read, written
sd_setup() {
    local v r
    [[ -f $blk_root/blkio.throttle.read_bps_device ]] ||
        die "--swap-sd needs the cgroup v1 blkio controller at $blk_root"
    [[ -d $sd_dir && $(stat -f -c %T "$sd_dir") != tmpfs ]] ||
        die "--swap-sd: SWAPSD_DIR '$sd_dir' must be a directory on a disk, not a tmpfs"
    for r in "${sd_rules[@]}"; do
        v=${r#*:}
        [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number (0 = unthrottled), not '${!v}'"
    done
    sd_reap_stale
    sd_file=$sd_dir/$sd_tag-$$.img
    rm -f "$sd_file"
    fallocate -l "$sd_bytes" "$sd_file" || die "cannot create the swap file $sd_file"
    # Buffered, not --direct-io: the host page cache (outside the cgroup)
    # takes the writes, so the throttle alone sets the speed, not the disk
    # under whatever else runs here (with O_DIRECT, 500 MiB cycled 3 times
    # through 300M took 75 s unthrottled on a loaded host).
    sd_loop=$(losetup -f --show "$sd_file") || die "cannot attach $sd_file to a loop device"
    rm -f "$sd_file" && sd_file=""   # the loop device holds it; freed when detached
    sd_dev=$(cat "/sys/class/block/${sd_loop##*/}/dev") || die "no MAJ:MIN for $sd_loop"
    for r in "${sd_rules[@]}"; do
        v=${r#*:}
        ((${!v} > 0)) || continue
        echo "$sd_dev ${!v}" > "$blk_root/blkio.throttle.${r%%:*}" || die "cannot set blkio.throttle.${r%%:*}"
    done
    mkswap "$sd_loop" >/dev/null || die "mkswap $sd_loop failed"
    swapon -p 32767 "$sd_loop" || die "swapon $sd_loop failed"
    sd_on=1
    sd_stat0=$(sd_sectors)
}
sd_report() {  # I/O on the swap device during the run (sectors of 512 bytes)
    [[ -n $sd_stat0 ]] || return 0
    local r0 w0 r1 w1
    read -r r0 w0 <<< "$sd_stat0"
    read -r r1 w1 <<< "$(sd_sectors)"
    echo "swap_dev_read_mib=$(( (r1 - r0) >> 11 ))" >&2
    echo "swap_dev_write_mib=$(( (w1 - w0) >> 11 ))" >&2
}
sd_teardown() {
    [[ -n $sd_dev ]] && sd_unthrottle "$sd_dev"
    if [[ -n $sd_loop ]]; then
        # swapoff reads back whatever is still swapped there (normally
        # nothing: the cgroup's processes are gone by now)
        ((sd_on)) && { swapoff "$sd_loop" || echo "$prog: warning: swapoff $sd_loop failed" >&2; }
        losetup -d "$sd_loop" || echo "$prog: warning: cannot detach $sd_loop" >&2
    fi
    [[ -n $sd_file ]] && rm -f "$sd_file"
}
sd_dir=${SWAPSD_DIR:-/var/tmp}
: "${SWAPSD_READ_BPS:=20971520}" "${SWAPSD_WRITE_BPS:=10485760}"
: "${SWAPSD_READ_IOPS:=0}" "${SWAPSD_WRITE_IOPS:=0}"

# ---- cleanup, on every exit path ----------------------------------------------
child="" status=2
vm_start=""
vmstat_swap() { awk '$1 == "pswpin" {i = $2} $1 == "pswpout" {o = $2} END {print i + 0, o + 0}' /proc/vmstat; }
empty_and_remove() {  # DIR: kill what is left in the cgroup, remove it
    local pid tries
    for tries in 1 2 3 4 5 6 7 8 9 10; do
        rmdir "$1" 2>/dev/null && break
        while read -r pid; do
            [[ -n $pid && $pid != "$$" ]] && kill -KILL "$pid" 2>/dev/null
        done < "$1/cgroup.procs"
        sleep 0.2
    done
    [[ -d $1 ]] && echo "$prog: warning: could not remove $1" >&2
}
cleanup() {
    trap - EXIT INT TERM HUP
    if [[ -d $cg ]]; then
        # Report before anything else changes the counters.
        local kills=0 peak="" majflt="" in0 out0 in1 out1 page
        if [[ $mode == v1 ]]; then
            kills=$(awk '$1 == "oom_kill" {print $2}' "$cg/memory.oom_control" 2>/dev/null)
            peak=$(cat "$cg/memory.max_usage_in_bytes" 2>/dev/null)
            majflt=$(awk '$1 == "total_pgmajfault" {print $2}' "$cg/memory.stat" 2>/dev/null)
        else
            kills=$(awk '$1 == "oom_kill" {print $2}' "$cg/memory.events" 2>/dev/null)
            peak=$(cat "$cg/memory.peak" 2>/dev/null)   # kernel >= 5.19
            majflt=$(awk '$1 == "pgmajfault" {print $2}' "$cg/memory.stat" 2>/dev/null)
        fi
        echo "oom_kills=${kills:-0}" >&2
        echo "max_usage_mib=$(( ${peak:-0} >> 20 ))" >&2
        echo "major_faults=${majflt:-0}" >&2
        if [[ -n $vm_start ]]; then
            read -r in0 out0 <<< "$vm_start"
            read -r in1 out1 <<< "$(vmstat_swap)"
            page=$(getconf PAGESIZE)
            echo "swap_in_mib=$(( (in1 - in0) * page >> 20 ))" >&2
            echo "swap_out_mib=$(( (out1 - out0) * page >> 20 ))" >&2
        fi
        sd_report
        # Leave the cgroup, then kill anything CMD left behind in it (e.g. after
        # INT/TERM, or daemonised children), and remove it.
        echo $$ > "$home/cgroup.procs" 2>/dev/null || echo $$ > "${home%/*}/cgroup.procs" 2>/dev/null
        empty_and_remove "$cg"
    fi
    sd_teardown
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

trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP
[[ -z $sd_bytes ]] || sd_setup
mkdir "$cg" || die "cannot create $cg"

# ---- set the limit -------------------------------------------------------------
if [[ $mode == v1 ]]; then
    if [[ -n $limit_bytes ]]; then
        echo "$limit_bytes" > "$cg/memory.limit_in_bytes" || die "cannot set memory.limit_in_bytes"
        # no swap: memory+swap = the limit; SD swap: the limit + its size
        if [[ (!swap_ok || -n $sd_bytes) && -f $cg/memory.memsw.limit_in_bytes ]]; then
            echo $((limit_bytes + ${sd_bytes:-0})) > "$cg/memory.memsw.limit_in_bytes" ||
                die "cannot set memory.memsw.limit_in_bytes"
        fi
    fi
else
    [[ -n $limit_bytes ]] && { echo "$limit_bytes" > "$cg/memory.max" || die "cannot set memory.max"; }
    if [[ (!swap_ok || -n $sd_bytes) && -f $cg/memory.swap.max ]]; then
        echo "${sd_bytes:-0}" > "$cg/memory.swap.max" || die "cannot set memory.swap.max"
    fi
fi

# ---- run -------------------------------------------------------------------------
echo $$ > "$cg/cgroup.procs" || die "cannot move into $cg"
vm_start=$(vmstat_swap)
# In the background so that a signal to this script is handled at once. A
# background job of a script would start with SIGINT/SIGQUIT ignored and
# stdin on /dev/null: the subshell restores both (the explicit 0<&0 keeps
# stdin), so CMD behaves as in the foreground, e.g. on Ctrl-C.
( trap - INT QUIT; exec "$@" ) 0<&0 &
child=$!
wait "$child"
status=$?
exit "$status"
