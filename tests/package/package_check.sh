#!/usr/bin/env bash
# Checks of what `cmake --install` and `cpack -G DEB` ship (tests/package/CMakeLists.txt).
# Usage: package_check.sh STEP BUILD_DIR SOURCE_DIR WORK_DIR
#   deb      builds the .deb into WORK_DIR and extracts it (the fixture of the steps below)
#   contents the .deb's file list, modes, control fields, conffiles and maintainer scripts
#   binary   the extracted swamp-bpf runs, and the shipped config passes its check-config
#   systemd  the extracted unit passes `systemd-analyze verify`, has the lines it must have, and
#            `systemd-analyze security` rates it 3.0 or less
#   lintian  lintian finds no error and no warning but those config/debian/lintian-overrides explains
#   openrc   the init script (of `cmake --install`; the .deb has none) parses as sh, and runs
#            under stubbed openrc-run helpers
#   install  `cmake --install` with DESTDIR, under prefix /usr and /usr/local
#   source   the source tarball (cpack's package_source) holds every file git tracks and no build
#            output, and configures
#   clean    removes WORK_DIR
# Exits 0 when every check passes, 1 at the first that fails, 77 when a tool is missing (skip).
set -euo pipefail
step=$1 build=$2 src=$3 work=$4
root=$work/root  # the extracted .deb

fail() { echo "FAIL: $*" >&2; exit 1; }
need_tool() { command -v "$1" >/dev/null || { echo "SKIP: $1 is not installed (scripts/deps.sh --test installs it)"; exit 77; }; }
# the files the .deb (files_under_prefix /usr deb) or an install tree (files_under_prefix PREFIX)
# must hold, and no other
files_under_prefix() {
  local prefix=$1 deb=${2:-}
  echo "$prefix/sbin/swamp-bpf"
  echo "$prefix/lib/systemd/system/swamp-bpf.service"
  echo "$prefix/share/doc/swamp-bpf/README.md"
  printf '%s\n' /etc/swamp-bpf/swamp-bpf.conf /etc/default/swamp-bpf
  if [ -n "$deb" ]; then  # Debian's files instead of LICENSE and OpenRC (cmake/DebStaging.cmake)
    printf '%s\n' "$prefix/share/doc/swamp-bpf/copyright" "$prefix/share/doc/swamp-bpf/changelog.gz" \
      "$prefix/share/lintian/overrides/swamp-bpf"
  else
    printf '%s\n' "$prefix/share/doc/swamp-bpf/LICENSE" /etc/init.d/swamp-bpf /etc/conf.d/swamp-bpf /etc/logrotate.d/swamp-bpf
  fi
  echo "$prefix/share/bash-completion/completions/swamp-bpf"
  echo "$prefix/share/zsh/vendor-completions/_swamp-bpf"
  local page
  for page in "$src"/examples/hooks/*; do echo "$prefix/share/swamp-bpf/examples/${page##*/}"; done
  for page in "$src"/docs/*.md; do echo "$prefix/share/doc/swamp-bpf/docs/${page##*/}"; done
  # the manual pages the build wrote (none with -DSWAMP_MAN=OFF)
  for page in "$build"/man/man8/*.8.gz; do [ ! -e "$page" ] || echo "$prefix/share/man/man8/${page##*/}"; done
}
deb_file() {
  local debs=("$work"/swamp-bpf_*.deb)
  [ -f "${debs[0]}" ] || fail "no .deb in $work: the Package.deb step did not run or failed"
  echo "${debs[0]}"
}

case $step in
deb)
  need_tool cpack; need_tool dpkg-deb; need_tool dpkg-shlibdeps
  rm -rf "$work" && mkdir -p "$work"
  # -B: the staging tree and the .deb go to WORK_DIR, not the build directory.
  (cd "$build" && cpack -G DEB -B "$work") > "$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; fail "cpack -G DEB failed"; }
  deb=$(deb_file)
  dpkg-deb -x "$deb" "$root"
  echo "built $deb: $(stat -c %s "$deb") bytes"
  ;;

contents)
  deb=$(deb_file)
  dpkg-deb -c "$deb" | awk '{print $1, $6}' | sed 's| \./| /|' > "$work/contents"
  cat "$work/contents"
  while read -r f; do
    grep -q "^-.* ${f}\$" "$work/contents" || fail "the .deb lacks $f"
  done < <(files_under_prefix /usr deb)
  grep -q "^-rwxr-xr-x /usr/sbin/swamp-bpf\$" "$work/contents" || fail "/usr/sbin/swamp-bpf is not mode 0755 in the .deb"
  for f in /etc/swamp-bpf/swamp-bpf.conf /usr/lib/systemd/system/swamp-bpf.service \
           /usr/share/bash-completion/completions/swamp-bpf /usr/share/zsh/vendor-completions/_swamp-bpf \
           /usr/share/doc/swamp-bpf/copyright /usr/share/doc/swamp-bpf/changelog.gz; do
    grep -q "^-rw-r--r-- ${f}\$" "$work/contents" || fail "$f is not mode 0644 in the .deb"
  done
  # nothing from the build tree or the tests (only the files above)
  extra=$(grep '^-' "$work/contents" | awk '{print $2}' | grep -vxF -f <(files_under_prefix /usr deb) || true)
  [ -z "$extra" ] || fail "the .deb holds files it should not: $extra"

  dpkg-deb -I "$deb"
  field() { dpkg-deb -f "$deb" "$1"; }
  [ "$(field Package)" = swamp-bpf ] || fail "Package is not swamp-bpf"
  [ "$(field Section)" = admin ] || fail "Section is '$(field Section)', not admin"
  [ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture is '$(field Architecture)'"
  depends=$(field Depends)
  for lib in libbpf1 libsqlite3-0 libtomlplusplus3 libc6; do
    grep -q "\b$lib\b" <<<"$depends" || fail "Depends lacks $lib (dpkg-shlibdeps): $depends"
  done
  # (grep -q of a here-string: in a pipe it may quit first, and pipefail would fail the producer)
  grep -q "memory" <<<"$(field Description)" || fail "no Description"
  case "$(basename "$deb")" in swamp-bpf_"$(field Version)"_"$(field Architecture)".deb) ;; *) fail "file name $(basename "$deb") is not swamp-bpf_<version>_<arch>.deb" ;; esac

  ctl=$work/control && rm -rf "$ctl" && dpkg-deb -e "$deb" "$ctl"
  sort "$ctl/conffiles" > "$work/conffiles.got"
  printf '%s\n' /etc/default/swamp-bpf /etc/swamp-bpf/swamp-bpf.conf > "$work/conffiles.want"
  diff -u "$work/conffiles.want" "$work/conffiles.got" || fail "conffiles differ from every file under /etc"
  for s in postinst prerm postrm; do
    [ -x "$ctl/$s" ] || fail "maintainer script $s is missing or not executable"
    sh -n "$ctl/$s" || fail "$s does not parse as sh"
  done
  # The package must never enable or start the service by itself.
  if grep -nE 'systemctl[^|;&]*\b(enable|start|restart)\b|rc-update|rc-service[^|;&]* start\b' "$ctl/postinst" "$ctl/prerm" "$ctl/postrm" | grep -v 'try-restart\|--ifstarted'; then
    fail "a maintainer script enables or starts the service"
  fi
  grep -q 'systemctl daemon-reload' "$ctl/postinst" || fail "postinst does not reload systemd"
  grep -q 'systemctl stop swamp-bpf' "$ctl/prerm" || fail "prerm does not stop the service"
  # a real maintainer, the one config/debian/changelog names, and that changelog's version
  need_tool dpkg-parsechangelog
  changelog=$src/config/debian/changelog
  [ "$(field Maintainer)" = "$(dpkg-parsechangelog -l "$changelog" -S Maintainer)" ] \
    || fail "Maintainer '$(field Maintainer)' is not the changelog's '$(dpkg-parsechangelog -l "$changelog" -S Maintainer)'"
  if grep -qiE '@(localhost|[^>]*\.localdomain)>|<root@' <<<"$(field Maintainer)"; then fail "Maintainer is not a real address: $(field Maintainer)"; fi
  [ "$(dpkg-parsechangelog -l "$changelog" -S Version)" = "$(field Version)" ] || fail "the changelog's newest version is not the package's $(field Version)"
  zcat "$root/usr/share/doc/swamp-bpf/changelog.gz" | cmp - "$changelog" || fail "changelog.gz is not config/debian/changelog"
  head -1 "$root/usr/share/doc/swamp-bpf/copyright" | grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' \
    || fail "the copyright file is not machine-readable (DEP-5)"
  ;;

binary)
  [ -d "$root" ] || fail "no extracted package in $root: the Package.deb step did not run or failed"
  version=$("$root/usr/sbin/swamp-bpf" --version) || fail "the packaged swamp-bpf does not run --version"
  echo "$version"
  deb=$(deb_file)
  [ "$version" = "swamp-bpf $(dpkg-deb -f "$deb" Version)" ] || fail "--version says '$version', the package $(dpkg-deb -f "$deb" Version)"
  cmp "$src/config/swamp-bpf.conf" "$root/etc/swamp-bpf/swamp-bpf.conf" || fail "the shipped config is not config/swamp-bpf.conf"
  if [ -e "$build/man/man8/swamp-bpf.8.gz" ] && command -v man >/dev/null; then
    grep -q -- '--mem-budget' <<<"$(MANWIDTH=80 man -l "$root/usr/share/man/man8/swamp-bpf.8.gz" 2>/dev/null)" \
      || fail "man -l of the packaged swamp-bpf.8.gz does not show --mem-budget"
  fi
  "$root/usr/sbin/swamp-bpf" check-config "$root/etc/swamp-bpf/swamp-bpf.conf" || fail "the shipped config fails check-config"
  # and the check can fail: a typo in a key
  sed 's/^reserve = /reserv = /' "$root/etc/swamp-bpf/swamp-bpf.conf" > "$work/bad.conf"
  if "$root/usr/sbin/swamp-bpf" check-config "$work/bad.conf" 2>/dev/null; then fail "check-config accepted an unknown key"; fi
  ;;

systemd)
  need_tool systemd-analyze
  [ -d "$root" ] || fail "no extracted package in $root: the Package.deb step did not run or failed"
  unit=$root/usr/lib/systemd/system/swamp-bpf.service
  # The lines the service depends on (see config/swamp-bpf.service).
  for line in 'Type=notify' 'NotifyAccess=main' 'KillMode=process' 'Restart=on-failure' 'RestartPreventExitStatus=2 3 5 6 7' \
              'ExecStartPre=/usr/sbin/swamp-bpf check-config /etc/swamp-bpf/swamp-bpf.conf' \
              'ExecStart=/usr/sbin/swamp-bpf service --config /etc/swamp-bpf/swamp-bpf.conf $SWAMP_BPF_OPTS' \
              'EnvironmentFile=-/etc/default/swamp-bpf' \
              'RuntimeDirectory=swamp-bpf' 'RuntimeDirectoryMode=0755' 'RuntimeDirectoryPreserve=yes' \
              'StateDirectory=swamp-bpf' 'OOMScoreAdjust=-1000' 'WantedBy=multi-user.target' \
              'LimitNOFILE=16640' 'MemoryMin=32M' 'WatchdogSec=30s' \
              'CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_KILL CAP_SYS_PTRACE CAP_DAC_OVERRIDE CAP_SYS_NICE CAP_IPC_LOCK CAP_SYS_RESOURCE' \
              'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ProtectHome=read-only' 'PrivateDevices=yes' \
              'PrivateNetwork=yes' 'ProtectKernelTunables=yes' 'SystemCallFilter=@system-service @memlock bpf perf_event_open'; do
    grep -qxF "$line" "$unit" || fail "the unit lacks the line: $line"
  done
  # Sandboxing that would take away what swamp-bpf needs: other users' /proc (ProtectProc,
  # ProcSubset, PrivateUsers), the link inputs of builds in /tmp (PrivateTmp), the thawing of
  # job cgroups (ProtectControlGroups), root (User, DynamicUser).
  if grep -nE '^(ProtectControlGroups|ProtectProc|ProcSubset|PrivateUsers|PrivateTmp|DynamicUser|User)=' "$unit"; then
    fail "the unit restricts what swamp-bpf needs"
  fi
  # systemd's own rating of the sandbox: 8.0 ("exposed") before the hardening, 2.5 with it
  out=$(SYSTEMD_LOG_COLOR=0 systemd-analyze security --offline=yes --no-pager "$unit" 2>&1) || fail "systemd-analyze security: $out"
  score=$(sed -n 's/.*exposure level for swamp-bpf.service: \([0-9.]*\).*/\1/p' <<<"$out")
  echo "systemd-analyze security: exposure $score"
  awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 3.0) }' || fail "systemd-analyze security rates the unit $score, above 3.0: $out"
  # LimitNOFILE= is what the default --max-tasks (16384) needs: + 256 (userspace/sys/limits.hpp).
  # The capability set is exactly the one swamp-bpf runs with: one line, one copy.
  [ "$(grep -c '^CapabilityBoundingSet=' "$unit")" = 1 ] || fail "more than one CapabilityBoundingSet= line"
  # The history database the config names lives in the unit's StateDirectory.
  grep -qx 'db = "/var/lib/swamp-bpf/history.db"' "$root/etc/swamp-bpf/swamp-bpf.conf" || fail "the config's history db is not under /var/lib/swamp-bpf (StateDirectory)"
  # `systemd-analyze verify --root` checks the unit's syntax, that its commands are executable
  # inside the extracted package, and its dependencies; it needs no running systemd.
  # sysinit.target stands for the rest of the system (every service depends on it).
  printf '[Unit]\nDescription=System Initialization\n' > "$root/usr/lib/systemd/system/sysinit.target"
  out=$(SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no --root="$root" /usr/lib/systemd/system/swamp-bpf.service 2>&1) \
    && rc=0 || rc=$?
  rm -f "$root/usr/lib/systemd/system/sysinit.target"
  # it exits 0 on unknown keys or bad values too, only printing them: any output fails
  [ "$rc" -eq 0 ] && [ -z "$out" ] || fail "systemd-analyze verify (exit $rc): $out"
  echo "systemd-analyze verify: ok"
  ;;

lintian)
  need_tool lintian
  deb=$(deb_file)
  # the overrides ship in the package (/usr/share/lintian/overrides/swamp-bpf); info tags are
  # shown too (--show-overrides would make lintian exit 2 on them)
  out=$(lintian --fail-on error,warning --display-level '>=info' "$deb" 2>&1) && rc=0 || rc=$?
  grep -v 'running with root privileges' <<<"$out" || true
  [ "$rc" -eq 0 ] || fail "lintian found errors or warnings (exit $rc)"
  echo "lintian: no errors, no unexplained warnings"
  ;;

openrc)
  # the init script as `cmake --install` puts it (the .deb has none)
  root=$work/openrc-root
  rm -rf "$root"
  DESTDIR=$root cmake --install "$build" --prefix /usr > "$work/install.log" || { cat "$work/install.log"; fail "cmake --install failed"; }
  initd=$root/etc/init.d/swamp-bpf confd=$root/etc/conf.d/swamp-bpf
  [ -f "$initd" ] || fail "cmake --install put no $initd (SWAMP_INSTALL_OPENRC=OFF?)"
  head -1 "$initd" | grep -qx '#!/sbin/openrc-run' || fail "init.d script does not start with #!/sbin/openrc-run"
  sh -n "$initd" || fail "the init.d script does not parse as sh"
  sh -n "$confd" || fail "the conf.d file does not parse as sh"
  # As openrc-run would: conf.d, then the script, in sh (dash), its helpers stubbed.
  run() {
    SWAMP_ROOT=$root WORK=$work sh -eu -c '
      need() { echo "need $*"; }
      after() { echo "after $*"; }
      checkpath() { echo "checkpath $*"; }
      RC_SVCNAME=swamp-bpf
      . "$SWAMP_ROOT/etc/conf.d/swamp-bpf"
      '"$1"'
      . "$SWAMP_ROOT/etc/init.d/swamp-bpf"
      '"$2"
  }
  out=$(run 'SWAMP_BPF_OPTS="--users portage"' '
      echo "command=$command"; echo "command_args=$command_args"; echo "command_background=$command_background"
      echo "pidfile=$pidfile"; echo "retry=$retry"; echo "output_log=$output_log"; echo "error_log=$error_log"
      echo "rc_cgroup_cleanup=$rc_cgroup_cleanup"; depend') || fail "sourcing conf.d and init.d failed: $out"
  echo "$out"
  for want in 'command=/usr/sbin/swamp-bpf' \
              'command_args=service --config /etc/swamp-bpf/swamp-bpf.conf --users portage' \
              'command_background=yes' 'pidfile=/run/swamp-bpf.pid' 'output_log=/var/log/swamp-bpf.log' \
              'error_log=/var/log/swamp-bpf.log' 'rc_cgroup_cleanup=NO' 'need localmount' 'after bootmisc'; do
    grep -qxF "$want" <<<"$out" || fail "openrc: expected '$want'"
  done
  grep -qx 'retry=TERM/30.*' <<<"$out" || fail "openrc: stop does not send TERM and wait 30 s"
  # start_pre runs check-config (the packaged binary on the packaged config) and makes the directories.
  out=$(run '' 'command=$SWAMP_ROOT/usr/sbin/swamp-bpf; SWAMP_BPF_CONFIG=$SWAMP_ROOT/etc/swamp-bpf/swamp-bpf.conf; start_pre' 2>&1) \
    || fail "openrc start_pre failed on the shipped config: $out"
  grep -q 'swamp-bpf.conf: ok' <<<"$out" || fail "start_pre did not run check-config: $out"
  grep -qx 'checkpath --directory --mode 0755 /run/swamp-bpf' <<<"$out" || fail "start_pre does not make /run/swamp-bpf: $out"
  grep -qx 'checkpath --directory --mode 0700 /var/lib/swamp-bpf' <<<"$out" || fail "start_pre does not make /var/lib/swamp-bpf: $out"
  grep -qx $'\tulimit -n 16640 2>/dev/null || :' "$initd" || fail "start_pre does not raise the open-file limit to 16640 (as LimitNOFILE=)"
  printf '[memory]\nreserv = "1G"\n' > "$work/bad.conf"
  if out=$(run '' 'command=$SWAMP_ROOT/usr/sbin/swamp-bpf; SWAMP_BPF_CONFIG=$WORK/bad.conf; start_pre' 2>&1); then
    fail "openrc start_pre accepted a bad config: $out"
  fi
  grep -q 'unknown key "reserv"' <<<"$out" || fail "start_pre on a bad config did not say why: $out"
  # the log rotates: logrotate on a copy of the config that points at a log of our own
  need_tool logrotate
  lr=$work/logrotate && rm -rf "$lr" && mkdir -p "$lr"
  grep -qx '/var/log/swamp-bpf.log {' "$root/etc/logrotate.d/swamp-bpf" || fail "the logrotate config is not for /var/log/swamp-bpf.log"
  sed "s|/var/log/swamp-bpf.log|$lr/swamp-bpf.log|" "$root/etc/logrotate.d/swamp-bpf" > "$lr/conf"
  echo "swamp-bpf: stopped in 10.0 s" > "$lr/swamp-bpf.log"
  exec 9>>"$lr/swamp-bpf.log"  # held open for appending, as start-stop-daemon holds it for swamp-bpf
  logrotate --force --state "$lr/state" "$lr/conf" || fail "logrotate failed on the shipped config"
  echo "swamp-bpf: after the rotation" >&9
  exec 9>&-
  grep -qx 'swamp-bpf: stopped in 10.0 s' "$lr/swamp-bpf.log.1" || fail "logrotate did not keep the old log as swamp-bpf.log.1"
  [ "$(cat "$lr/swamp-bpf.log")" = "swamp-bpf: after the rotation" ] || fail "the log was not truncated in place (copytruncate): $(cat "$lr/swamp-bpf.log")"
  rm -rf "$root" "$lr"
  echo "openrc: ok"
  ;;

install)
  for prefix in /usr /usr/local; do
    dest=$work/install$(tr / - <<<"$prefix")
    rm -rf "$dest"
    DESTDIR=$dest cmake --install "$build" --prefix "$prefix" > "$work/install.log" || { cat "$work/install.log"; fail "cmake --install --prefix $prefix failed"; }
    (cd "$dest" && find . -type f | sed 's|^\.||' | sort) > "$work/install.got"
    files_under_prefix "$prefix" | sort > "$work/install.want"
    diff -u "$work/install.want" "$work/install.got" || fail "DESTDIR install under prefix $prefix holds other files"
    # the service files run the binary where this prefix put it
    grep -qx "ExecStart=$prefix/sbin/swamp-bpf service .*" "$dest$prefix/lib/systemd/system/swamp-bpf.service" \
      || fail "prefix $prefix: the unit does not run $prefix/sbin/swamp-bpf"
    grep -qx "command=$prefix/sbin/swamp-bpf" "$dest/etc/init.d/swamp-bpf" \
      || fail "prefix $prefix: the init.d script does not run $prefix/sbin/swamp-bpf"
    [ -x "$dest/etc/init.d/swamp-bpf" ] || fail "prefix $prefix: /etc/init.d/swamp-bpf is not executable"
    rm -rf "$dest"
    echo "install --prefix $prefix: ok"
  done
  ;;

source)
  need_tool cpack
  out=$work/source
  rm -rf "$out" && mkdir -p "$out"
  (cd "$build" && cpack --config CPackSourceConfig.cmake -B "$out") > "$out/cpack.log" 2>&1 || { cat "$out/cpack.log"; fail "cpack --config CPackSourceConfig.cmake failed"; }
  tarballs=("$out"/swamp-bpf-*.tar.gz)
  tarball=${tarballs[0]} top=$(basename "${tarballs[0]}" .tar.gz)
  [ -f "$tarball" ] || fail "cpack made no swamp-bpf-<version>.tar.gz"
  echo "built $tarball: $(stat -c %s "$tarball") bytes"
  tar -tzf "$tarball" | grep -v '/$' | sort > "$out/listed"
  grep -v "^$top/" "$out/listed" && fail "files outside the top directory $top/"
  sed "s|^$top/||" "$out/listed" > "$out/files"
  for f in LICENSE README.md CMakeLists.txt config/debian/copyright config/debian/changelog bpf/swamp_bpf.bpf.c vmlinux/x86/vmlinux.h; do
    grep -qxF "$f" "$out/files" || fail "the tarball lacks $f"
  done
  if grep -E '^(build|build-[^/]*|Testing|bench-results)/|^\.git(/|$)|\.o$' "$out/files"; then fail "build output or git's files in the tarball"; fi
  if command -v git >/dev/null && git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
    # every file git tracks, and nothing git ignores
    (cd "$src" && git ls-files | while read -r f; do [ ! -e "$f" ] || echo "$f"; done) | sort > "$out/tracked"
    missing=$(comm -23 "$out/tracked" "$out/files")
    [ -z "$missing" ] || fail "the tarball lacks files git tracks: $missing"
    ignored=$(cd "$src" && git check-ignore --no-index --stdin < "$out/files" || true)
    [ -z "$ignored" ] || fail "the tarball holds files git ignores: $ignored"
  fi
  # it configures on its own (building it is what CI does, from a clone)
  tar -xzf "$tarball" -C "$out"
  cmake -S "$out/$top" -B "$out/build" -DSWAMP_BUILD_TESTS=OFF > "$out/configure.log" 2>&1 \
    || { cat "$out/configure.log"; fail "the unpacked source does not configure"; }
  echo "source: $(wc -l < "$out/files") files, configures"
  rm -rf "$out"
  ;;

clean)
  rm -rf "$work"
  ;;

*)
  fail "unknown step $step"
  ;;
esac
