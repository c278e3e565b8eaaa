#!/usr/bin/env bash
# The .deb on a fresh Debian 12, as a user gets it (tests/package/CMakeLists.txt):
#   fresh    in a chroot of a fresh Debian 12 (mmdebstrap, minbase), `dpkg -i` of the .deb, then
#            `swamp-bpf --help`, `man swamp-bpf`, bash completion and `check-config` of the shipped
#            config
#   systemd  the same tree booted by systemd-nspawn: the unit, hardened as shipped, starts
#            (Type=notify), shows STATUS= lines while it manages a build of another user, passes
#            `systemd-analyze security` at 3.0 or less, writes a metrics file where a drop-in's
#            ReadWritePaths= allows it, stops cleanly; a stuck main loop (SIGSTOP)
#            is killed by WatchdogSec= and restarted. The container has its own pid namespace and
#            the BPF side reports the host's pids, so swamp-bpf can follow a build there but not
#            stop its jobs: the build gets all the memory it wants (the unit's capabilities with
#            stops and resumes: ServiceTest.ManagesAnotherUsersBuildWithOnlyTheUnitsCapabilities)
#   demo     not in CTest (about 10 minutes): the README's first command, `scripts/demo.sh`, timed
#            in a chroot of a fresh Debian 12 (variant important, as a fresh install has), from
#            `git archive HEAD`; it installs its packages from the mirror, builds and runs the demo
# Usage: container_check.sh STEP BUILD_DIR SOURCE_DIR WORK_DIR (WORK_DIR holds the .deb: Package.deb)
# The bootstrap is cached in /var/cache/swamp-bpf-test (about 210 MB; 70 s to make from the
# mirror). Needs root. Exits 0 when every check passes, 1 at the first that fails, 77 (skip) only
# when not root or when Debian's mirror cannot be reached.
set -euo pipefail
step=$1 build=$2 src=$3 work=$4
mirror=http://deb.debian.org/debian
cache=/var/cache/swamp-bpf-test

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (chroot, systemd-nspawn)"
for tool in mmdebstrap dpkg-deb; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/deps.sh --test installs it)"
done
debs=("$work"/swamp-bpf_*.deb)
deb=${debs[0]}
[ -f "$deb" ] || [ "$step" = demo ] || fail "no .deb in $work: the Package.deb step did not run or failed"

# A tarball of Debian 12 (minbase) with what the checks use and the .deb's Depends, made once;
# `bootstrap important` for the packages of a fresh install instead.
bootstrap() {
  local depends include key variant=${1:-minbase}
  include=ca-certificates
  if [ "$variant" = minbase ]; then
    depends=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/(.*)//; s/|.*//; s/ //g' | grep . | sort -u | paste -sd,)
    include="systemd,systemd-sysv,dbus,man-db,bash-completion,make,$depends"
  fi
  key=$(echo "bookworm $(dpkg --print-architecture) $variant $include" | sha256sum | cut -c1-16)
  tarball=$cache/bookworm-$variant-$key.tar
  [ -s "$tarball" ] && return
  timeout 20 bash -c 'exec 3<>/dev/tcp/deb.debian.org/80' 2>/dev/null \
    || skip "Debian's mirror ($mirror) cannot be reached: no fresh Debian 12 to install into"
  mkdir -p "$cache"
  rm -f "$cache"/bookworm-"$variant"-*.tar "$cache"/partial-*.tar  # an older include list, a broken run
  echo "bootstrapping Debian 12 into $tarball (mmdebstrap, once)"
  local partial=$cache/partial-$key.tar  # (mmdebstrap tells the format by the .tar)
  nice -n 19 mmdebstrap --quiet --variant="$variant" --include="$include" bookworm "$partial" "$mirror" \
    || fail "mmdebstrap bookworm from $mirror failed"
  mv "$partial" "$tarball"
}

# A fresh tree at $1 with the .deb installed by dpkg (its Depends must already be there).
fresh_tree() {
  local root=$1
  bootstrap
  rm -rf "$root" && mkdir -p "$root"
  tar -xf "$tarball" -C "$root"
  cp "$deb" "$root/tmp/swamp-bpf.deb"
  chroot "$root" dpkg -i /tmp/swamp-bpf.deb > "$root.dpkg.log" 2>&1 || { cat "$root.dpkg.log"; fail "dpkg -i of the .deb failed in a fresh Debian 12"; }
  rm "$root/tmp/swamp-bpf.deb"
}

case $step in
fresh)
  root=$work/fresh
  fresh_tree "$root"
  # with its own /proc (bash's process substitution needs /dev/fd), gone when it exits
  in_root() {
    unshare --mount --pid --fork --mount-proc="$root/proc" \
      chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb "$@"
  }
  in_root swamp-bpf --help > "$work/help.txt" || fail "swamp-bpf --help failed in the fresh install"
  grep -q '^Subcommands:' "$work/help.txt" && grep -q -- '--mem-budget' "$work/help.txt" || fail "--help lacks its subcommands or --mem-budget"
  echo "swamp-bpf --help: ok ($(wc -l < "$work/help.txt") lines)"
  out=$(in_root env MANWIDTH=80 MANPAGER=cat man swamp-bpf 2>&1) || fail "man swamp-bpf failed: $out"
  grep -q -- '--mem-budget' <<<"$out" || fail "man swamp-bpf does not show --mem-budget: $out"
  out=$(in_root env MANWIDTH=80 MANPAGER=cat man swamp-bpf-ctl 2>&1) || fail "man swamp-bpf-ctl failed: $out"
  echo "man swamp-bpf, man swamp-bpf-ctl: ok"
  # bash completion as an interactive bash gets it: bash-completion's loader finds our file
  out=$(in_root bash -c '
    . /usr/share/bash-completion/bash_completion
    _completion_loader swamp-bpf
    complete -p swamp-bpf
    COMP_WORDS=(swamp-bpf ch); COMP_CWORD=1; COMP_LINE="swamp-bpf ch"; COMP_POINT=${#COMP_LINE}
    func=$(complete -p swamp-bpf | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
    "$func" swamp-bpf ch swamp-bpf
    echo "offered: ${COMPREPLY[*]}"
    COMP_WORDS=(swamp-bpf --action ""); COMP_CWORD=2; COMP_LINE="swamp-bpf --action "; COMP_POINT=${#COMP_LINE}
    "$func" swamp-bpf "" --action
    echo "actions: ${COMPREPLY[*]}"' 2>&1) || fail "bash completion failed: $out"
  echo "$out"
  grep -q '^complete .* swamp-bpf$' <<<"$out" || fail "bash-completion does not load a completion for swamp-bpf"
  grep -qx 'offered: check-config' <<<"$out" || fail "completing 'swamp-bpf ch' does not offer check-config"
  grep -q '^actions: .*signal' <<<"$out" && grep -q '^actions: .*freeze' <<<"$out" || fail "completing --action does not offer its values"
  in_root swamp-bpf check-config /etc/swamp-bpf/swamp-bpf.conf || fail "check-config fails on the shipped config"
  rm -rf "$root" "$root.dpkg.log"
  echo "fresh install: ok"
  ;;

systemd)
  command -v systemd-nspawn >/dev/null || fail "systemd-nspawn is not installed (scripts/deps.sh --test installs systemd-container)"
  root=$work/nspawn
  fresh_tree "$root"
  install -m 0755 "$build/tests/fakebuild/hog" "$root/usr/local/bin/hog"
  # the build: three 200 MiB jobs of another user, within the machine's memory and, with
  # --cpus 0, never held for CPU. Its driver has a name of its own: the BPF side sees every
  # exec of the host too, and would find the host's builds under make or ninja.
  cp "$root/usr/bin/make" "$root/usr/local/bin/swampmake"
  echo 'SWAMP_BPF_OPTS="--cpus 0 --roots swampmake"' > "$root/etc/default/swamp-bpf"
  mkdir -p "$root/build" && chmod 1777 "$root/build"
  printf 'all: a b c\na b c:\n\thog --mib 200 --cpu-s 3 --shape ramp --out $@\n' > "$root/build/Makefile"
  # runs once the container is up, writes /root/result, powers it off
  cat > "$root/root/check.sh" <<'EOF'
#!/bin/bash
exec > /root/result 2>&1
set -u
bad=0
no() { echo "FAIL: $*"; bad=1; }
show() { systemctl show -P "$1" swamp-bpf; }
systemctl start swamp-bpf || no "systemctl start swamp-bpf failed"
[ "$(show ActiveState)" = active ] || no "not active after start: $(show ActiveState)"
[ "$(show WatchdogUSec)" = 30s ] || no "WatchdogUSec is $(show WatchdogUSec)"
echo "started: MainPID $(show MainPID), status: $(show StatusText)"
[ "$(show StatusText)" = "no build" ] || no "status at start: '$(show StatusText)', not 'no build'"
grep -q '^CapEff:.*' /proc/"$(show MainPID)"/status && echo "caps: $(grep CapEff /proc/"$(show MainPID)"/status)"
cd /build && setpriv --reuid=nobody --regid=nogroup --clear-groups swampmake -s -j3 > /root/make.log 2>&1 &
make=$!
statuses=""
while kill -0 $make 2>/dev/null; do s=$(show StatusText); [[ $statuses == *"|$s"* ]] || statuses+="|$s"; sleep 0.2; done
wait $make || no "the build failed: $(cat /root/make.log)"
sleep 1
s=$(show StatusText); [[ $statuses == *"|$s" ]] || statuses+="|$s"
echo "statuses during the build:$statuses"
[[ $statuses =~ \|1\ build,\ 3\ jobs\ running,\ 0\ waiting ]] || no "no STATUS= line with the build's 3 jobs"
[[ $statuses == *"|no build" ]] || no "the last STATUS= line is not 'no build'"
journalctl -u swamp-bpf --no-pager -o cat | grep -E 'found a build|ended after' || no "the journal has no build found and ended"
journalctl -u swamp-bpf --no-pager -o cat | grep -qE 'ended after .*: 3 jobs' || no "the build's 3 jobs were not followed"
journalctl -u swamp-bpf --no-pager -p warning -o cat | grep . && no "warnings in the journal (above)"
ls /build/a /build/b /build/c > /dev/null || no "the build did not make a b c"
systemd-analyze security --no-pager swamp-bpf | tail -1
score=$(systemd-analyze security --no-pager swamp-bpf | sed -n 's/.*exposure level for swamp-bpf.service: \([0-9.]*\).*/\1/p')
awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 3.0) }' || no "systemd-analyze security: exposure $score, more than 3.0"
# a metrics file for node_exporter, outside ProtectSystem='s writable paths: the drop-in docs/service.md gives
mkdir -p /var/lib/prometheus/node-exporter /etc/systemd/system/swamp-bpf.service.d
prom=/var/lib/prometheus/node-exporter/swamp-bpf.prom
sed -i "s|^metrics-file = \"\"|metrics-file = \"$prom\"|" /etc/swamp-bpf/swamp-bpf.conf
printf '[Service]\nReadWritePaths=/var/lib/prometheus/node-exporter\n' > /etc/systemd/system/swamp-bpf.service.d/metrics.conf
systemctl daemon-reload && systemctl restart swamp-bpf
for _ in $(seq 20); do [ -s $prom ] && break; sleep 0.2; done
grep -x 'swamp_bpf_up 1' $prom && grep '^swamp_bpf_build_info' $prom || no "no metrics in $prom: $(journalctl -u swamp-bpf -o cat --no-pager | tail -3)"
# the watchdog: a main loop stopped for longer than WatchdogSec is killed and restarted
mkdir -p /run/systemd/system/swamp-bpf.service.d
printf '[Service]\nWatchdogSec=2s\nTimeoutAbortSec=2s\nRestartSec=1s\n' > /run/systemd/system/swamp-bpf.service.d/watchdog.conf
systemctl daemon-reload && systemctl restart swamp-bpf
first=$(show MainPID)
sleep 3
[ "$(show MainPID)" = "$first" ] && [ "$(show NRestarts)" = 0 ] || no "restarted though its loop ran (WATCHDOG=1 not sent?)"
kill -STOP "$first"
for _ in $(seq 30); do [ "$(show NRestarts)" -ge 1 ] && [ "$(show ActiveState)" = active ] && break; sleep 0.5; done
journalctl -u swamp-bpf --no-pager -o cat | grep -i 'watchdog timeout' || no "no watchdog timeout in the journal"
[ "$(show NRestarts)" -ge 1 ] && [ "$(show ActiveState)" = active ] && [ "$(show MainPID)" != "$first" ] \
  || no "not restarted after the watchdog timeout: $(show ActiveState), NRestarts $(show NRestarts)"
echo "watchdog: pid $first stopped, killed and restarted as $(show MainPID)"
rm -r /run/systemd/system/swamp-bpf.service.d && systemctl daemon-reload
systemctl stop swamp-bpf
grep -x 'swamp_bpf_up 0' $prom || no "the metrics file does not say swamp_bpf_up 0 after the stop"
journalctl -u swamp-bpf --no-pager -o cat | tail -3
[ "$(show Result)" = success ] || no "stopping it did not end in success: $(show Result)"
[ $bad = 0 ] && echo "RESULT: ok" || echo "RESULT: failed"
systemctl poweroff
EOF
  chmod +x "$root/root/check.sh"
  printf '[Unit]\nAfter=multi-user.target\n[Service]\nType=oneshot\nExecStart=/root/check.sh\n[Install]\nWantedBy=multi-user.target\n' \
    > "$root/etc/systemd/system/swamp-check.service"
  ln -s /etc/systemd/system/swamp-check.service "$root/etc/systemd/system/multi-user.target.wants/"
  echo swamp-check > "$root/etc/hostname"
  # BPF in a container: every capability, and bpf() and perf_event_open() past nspawn's filter
  timeout 240 nice -n 10 systemd-nspawn --quiet --register=no --keep-unit --capability=all \
    --system-call-filter='bpf perf_event_open' -D "$root" --boot > "$work/nspawn.log" 2>&1 || true
  [ -f "$root/root/result" ] || { tail -50 "$work/nspawn.log"; fail "the container wrote no result (boot failed?)"; }
  cat "$root/root/result"
  grep -qx 'RESULT: ok' "$root/root/result" || fail "under systemd (systemd-nspawn --boot): see above"
  rm -rf "$root" "$root.dpkg.log"
  echo "systemd: ok"
  ;;

demo)
  root=$work/demo
  bootstrap important
  rm -rf "$root" && mkdir -p "$root"
  tar -xf "$tarball" -C "$root"
  mkdir -p "$root/root/swamp-bpf"
  git -C "$src" archive HEAD | tar -x -C "$root/root/swamp-bpf"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # the host's /proc, /sys (BTF, cgroups) and /dev, in a mount namespace of its own; the same
  # pid namespace, which the BPF side needs
  start=$(date +%s.%N)
  rc=0
  unshare --mount --propagation private sh -c '
    root=$1
    mount --rbind /proc "$root/proc" && mount --rbind /sys "$root/sys" && mount --rbind /dev "$root/dev"
    exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb \
      nice -n 19 bash -c "cd /root/swamp-bpf && scripts/demo.sh"' sh "$root" > "$work/demo.log" 2>&1 || rc=$?
  end=$(date +%s.%N)
  tail -5 "$work/demo.log"
  [ "$rc" -eq 0 ] || fail "scripts/demo.sh exited $rc in a fresh Debian 12 (see $work/demo.log)"
  grep -qE 'command exited with status 0 .* OOM kills 0' "$work/demo.log" || fail "the demo did not end with status 0 and no OOM kill"
  echo "the demo's first command, scripts/demo.sh, on a fresh Debian 12: $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }') s (at nice 19)"
  rm -rf "$root"
  ;;

*)
  fail "unknown step $step"
  ;;
esac
