#!/bin/busybox sh
# /init of the arm64 end-to-end test's initramfs (tests/arm64/e2e.sh builds it).
# Runs swamp-bpf on Debian's arm64 kernel and prints everything the host checks
# on the serial console, each line tagged "E2E ", then powers off.
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /usr/bin /usr/sbin /sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

mark() { echo "E2E $*"; }
# tag FILE NAME: print FILE's lines as "E2E NAME <line>"
tag() { sed "s/^/E2E $2 /" "$1"; }

mark uptime-at-init "$(cut -d' ' -f1 /proc/uptime)"
mark uname "$(uname -r) $(uname -m)"
mark memtotal "$(grep MemTotal /proc/meminfo)"

# 1. The plan on this kernel: in-kernel BTF, tp_btf, the old rss_stat signature.
swamp-bpf probe --json >/tmp/probe.json 2>/tmp/probe.err
mark probe-rc $?
tag /tmp/probe.json probe
tag /tmp/probe.err probe-err
swamp-bpf probe

# 2. Watch a small build: two jobs of a shell, one of them forked by a subshell.
swamp-bpf trace --json -o /tmp/trace.jsonl -- sh -c \
  'hog --mib 40 --cpu-s 0.5 --out /tmp/a & (hog --mib 56 --cpu-s 0.5 --shape early --out /tmp/b); wait' 2>/tmp/trace.err
mark trace-rc $?
tag /tmp/trace.jsonl trace
tag /tmp/trace.err trace-err

# 3. Manage a fake build that does not fit its memory budget.
mkdir -p /tmp/fb
swamp-bpf --mem-budget 300M --trace-json --trace-output /tmp/run.jsonl -- sh /fakebuild.sh 2>/tmp/run.err
mark run-rc $?
tag /tmp/run.err run-err
tag /tmp/run.jsonl run
mark outputs "$(ls /tmp/fb | wc -l)"
# nothing may be left stopped
mark stopped-left "$(grep -l '^State:[[:space:]]*T' /proc/[0-9]*/status 2>/dev/null | wc -l)"

# 3b. Service mode: the same fake build found on its own at its driver's exec, and queried over
#     the ctl socket. Its driver is busybox's sh run by path: this busybox runs its applets
#     (sh, sed …) without an exec, so "busybox" is the name the kernel sees exec'd.
mkdir -p /tmp/fb2
swamp-bpf service --roots busybox --no-history --mem-budget 300M --socket /run/ctl.sock --status-file /tmp/svc.status \
  --trace-json --trace-output /tmp/svc.jsonl 2>/tmp/svc.err &
svc=$!
i=0
while ! grep -q managing /tmp/svc.err 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
/bin/busybox sh /fakebuild.sh /tmp/fb2 &
build=$!
sleep 2
swamp-bpf ctl --socket /run/ctl.sock status >/tmp/ctl.txt 2>&1
mark ctl-rc $?
tag /tmp/ctl.txt ctl
wait $build
mark svc-build-rc $?
kill -TERM $svc
wait $svc
mark svc-rc $?
tag /tmp/svc.err svc-err
tag /tmp/svc.jsonl svc
mark svc-outputs "$(ls /tmp/fb2 | wc -l)"
mark svc-stopped-left "$(grep -l '^State:[[:space:]]*T' /proc/[0-9]*/status 2>/dev/null | wc -l)"
mark svc-socket-left "$(ls /run/ctl.sock 2>/dev/null | wc -l)"

# 4. As on a kernel without BTF (Raspberry Pi OS): hide /sys/kernel/btf and
#    give the reduced BTF made at build time by `bpftool gen min_core_btf`.
mount -t tmpfs tmpfs /sys/kernel/btf
swamp-bpf probe --json --btf /min.btf >/tmp/probe-nobtf.json 2>/tmp/probe-nobtf.err
mark probe-nobtf-rc $?
tag /tmp/probe-nobtf.json probe-nobtf
tag /tmp/probe-nobtf.err probe-nobtf-err
swamp-bpf trace --json --btf /min.btf -o /tmp/trace-nobtf.jsonl -- sh -c \
  'hog --mib 40 --cpu-s 0.5 --out /tmp/c' 2>/tmp/trace-nobtf.err
mark trace-nobtf-rc $?
tag /tmp/trace-nobtf.jsonl trace-nobtf
tag /tmp/trace-nobtf.err trace-nobtf-err

# 5. The same hidden BTF and no --btf: the tracepoint variant, which needs no BTF at all, with
#    the record layouts of this 6.1 kernel's format files (printed for the host to check).
for tp in kmem/rss_stat sched/sched_process_exit task/task_newtask; do
  grep 'field:' "/sys/kernel/tracing/events/$tp/format" | tr '\t' ' ' | sed "s|^|E2E format-$(basename $tp) |"
done
swamp-bpf probe --json >/tmp/probe-tp.json 2>/tmp/probe-tp.err
mark probe-tp-rc $?
tag /tmp/probe-tp.json probe-tp
tag /tmp/probe-tp.err probe-tp-err
swamp-bpf trace --json -o /tmp/trace-tp.jsonl -- sh -c \
  'hog --mib 40 --cpu-s 0.5 --out /tmp/d & (hog --mib 56 --cpu-s 0.5 --shape early --out /tmp/e); wait' 2>/tmp/trace-tp.err
mark trace-tp-rc $?
tag /tmp/trace-tp.jsonl trace-tp
tag /tmp/trace-tp.err trace-tp-err
mkdir -p /tmp/fb3
swamp-bpf --mem-budget 300M -- sh /fakebuild.sh /tmp/fb3 2>/tmp/run-tp.err
mark run-tp-rc $?
tag /tmp/run-tp.err run-tp-err
mark tp-outputs "$(ls /tmp/fb3 | wc -l)"
mark tp-stopped-left "$(grep -l '^State:[[:space:]]*T' /proc/[0-9]*/status 2>/dev/null | wc -l)"

mark uptime-at-end "$(cut -d' ' -f1 /proc/uptime)"
mark done
poweroff -f
