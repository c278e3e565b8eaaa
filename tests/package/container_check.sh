#!/usr/bin/env bash
# The .deb on a fresh Debian 12, as a user gets it (tests/package/CMakeLists.txt):
#   fresh    in a chroot of a fresh Debian 12 (mmdebstrap, minbase), `dpkg -i` of the .deb, then
#            `swamp-bpf --help`, `man swamp-bpf`, bash completion and `check-config` of the shipped
#            config
#   systemd  the same tree booted by systemd-nspawn: systemd reads the unit as shipped (Type=notify,
#            WatchdogSec=, RestartPreventExitStatus=) and rates it 3.0 or less in `systemd-analyze
#            security`. The container has a pid namespace of its own, where the BPF side's pids
#            (the host's) name other processes, so swamp-bpf must refuse: `probe` says why, and
#            the service, sandboxed as shipped, fails at once with exit code 5 and one error line
#            in the journal, is not restarted and leaves nothing behind. (Builds managed under the
#            unit's capabilities are tested on the host: ServiceTest.ManagesAnotherUsersBuild-
#            WithOnlyTheUnitsCapabilities. Type=notify, STATUS= and WatchdogSec= at work under a
#            real systemd are not tested: this VM's PID 1 is not systemd.)
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
  # runs once the container is up, writes /root/result, powers it off
  cat > "$root/root/check.sh" <<'EOF'
#!/bin/bash
exec > /root/result 2>&1
set -u
bad=0
no() { echo "FAIL: $*"; bad=1; }
show() { systemctl show -P "$1" swamp-bpf; }
# the unit as this systemd reads it
[ "$(show Type)" = notify ] && [ "$(show NotifyAccess)" = main ] || no "Type=$(show Type) NotifyAccess=$(show NotifyAccess)"
[ "$(show RestartPreventExitStatus)" = "2 3 5 6 7" ] || no "RestartPreventExitStatus is '$(show RestartPreventExitStatus)'"
systemd-analyze security --no-pager swamp-bpf | tail -1
score=$(systemd-analyze security --no-pager swamp-bpf | sed -n 's/.*exposure level for swamp-bpf.service: \([0-9.]*\).*/\1/p')
awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 3.0) }' || no "systemd-analyze security: exposure $score, more than 3.0"
# this container has a pid namespace of its own: the BPF side's pids (the host's) would name
# other processes here, so swamp-bpf refuses, and probe says why
out=$(swamp-bpf probe 2>&1); rc=$?
echo "$out" | grep 'pid namespace'
[ $rc = 5 ] || no "swamp-bpf probe exited $rc, not 5"
grep -q "NOTHING CAN WORK: swamp-bpf must run in the host's pid namespace: it runs in pid:\[" <<<"$out" || no "probe does not say why"
# the service fails at once and cleanly: check-config (ExecStartPre) passes, then swamp-bpf,
# sandboxed as shipped, exits 5 with one error line; no READY=1, no restart, nothing left behind
systemctl start swamp-bpf && no "swamp-bpf started in a container's pid namespace"
sleep 7  # longer than RestartSec=5: a restart would have come
echo "after start: $(show ActiveState), Result=$(show Result), ExecMainStatus=$(show ExecMainStatus), NRestarts=$(show NRestarts)"
[ "$(show WatchdogUSec)" = 30s ] || no "WatchdogUSec is $(show WatchdogUSec)"  # (set by a start)
[ "$(show ActiveState)" = failed ] || no "not failed: $(show ActiveState)"
[ "$(show Result)" = exit-code ] || no "Result is $(show Result), not exit-code"
[ "$(show ExecMainStatus)" = 5 ] || no "ExecMainStatus is $(show ExecMainStatus), not 5"
[ "$(show NRestarts)" = 0 ] || no "restarted $(show NRestarts) times (RestartPreventExitStatus=)"
show ExecStartPre | grep -q 'code=exited ; status=0 ' || no "check-config (ExecStartPre) did not pass: $(show ExecStartPre)"
journalctl -u swamp-bpf --no-pager -o cat
# swamp-bpf's own lines: check-config's ok, then the error
errors=$(journalctl -u swamp-bpf --no-pager -o cat -p err | grep '^swamp-bpf: ')
[ "$(grep -c . <<<"$errors")" = 1 ] || no "not one error line from swamp-bpf in the journal: '$errors'"
grep -q "^swamp-bpf: swamp-bpf must run in the host's pid namespace: it runs in pid:\[[0-9]*\] .*--pid=host" <<<"$errors" \
  || no "the journal's error does not say why and what to do: '$errors'"
[ "$(journalctl -u swamp-bpf --no-pager -o cat | grep -c '^swamp-bpf: ')" = 1 ] || no "swamp-bpf logged more than the error"
journalctl -u swamp-bpf --no-pager -o cat | grep -qx '/etc/swamp-bpf/swamp-bpf.conf: ok' || no "no ok from check-config"
grep -lx swamp-watchdog /proc/[0-9]*/comm 2>/dev/null && no "a swamp-watchdog is left"
ls -A /run/swamp-bpf 2>/dev/null | grep . && no "files left in /run/swamp-bpf"
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
