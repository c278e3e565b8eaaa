#!/bin/sh
# shellcheck disable=SC2086  # $SWAMP_BPF ("[EMULATOR] BIN") and the subcommands are word lists
# Writes the manual pages into OUTDIR, gzipped, from swamp-bpf's own --help (man/CMakeLists.txt):
# swamp-bpf.8, and swamp-bpf-SUB.8 for each subcommand that `swamp-bpf --help` lists (with that
# subcommand's own subcommands on the same page). help2man lays them out (man/help.sh is the
# program it reads); the NAME line is the first sentence of each help; man/swamp-bpf.h2m adds
# the files, and SEE ALSO lists every page. Nothing here lists an option, so nothing can drift.
# Usage: SWAMP_BPF="[EMULATOR] BIN" generate.sh OUTDIR
set -eu
out=$1
here=$(cd "$(dirname "$0")" && pwd)
export SWAMP_BPF
top=$($SWAMP_BPF --help)
subs=$(printf '%s\n' "$top" | sed -n '/^Subcommands:$/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
[ -n "$subs" ] || { echo "generate.sh: no subcommands in swamp-bpf --help" >&2; exit 1; }
mkdir -p "$out"
rm -f "$out"/*.8 "$out"/*.8.gz

# the NAME line: the help's first line, from after "swamp-bpf 0.1.0: " up to the first ':' or
# '(' or '.', with a small first letter
name_of() {
  sed -n '1{s/^swamp-bpf [^ ]*: //; s/ *[:(.].*//; s/^./\L&/; p}'
}
version=$($SWAMP_BPF --version)
see_also() {  # every other page, and the documentation
  for p in swamp-bpf $(printf 'swamp-bpf-%s ' $subs); do
    [ "$p" = "$1" ] || printf '\\fB\\%%%s\\fR(8),\n' "$p"
  done
  echo "/usr/share/doc/swamp-bpf/README.md and the pages in its docs/ folder."
}

page() {  # page SUBCOMMAND (empty: the top-level page)
  file=$out/swamp-bpf${1:+-$1}.8
  inc=$out/.include
  { [ -n "$1" ] || cat "$here/swamp-bpf.h2m"; echo '[SEE ALSO]'; see_also "swamp-bpf${1:+-$1}"; } > "$inc"
  name=$($SWAMP_BPF $1 --help | name_of)
  SWAMP_SUB=$1 help2man --no-info --no-discard-stderr --section 8 --source "$version" \
    --manual "System Administration Utilities" --name "$name" --include "$inc" \
    --output "$file" "$here/help.sh"
  rm -f "$inc"
  gzip -9n "$file"
}
page ""
for sub in $subs; do page "$sub"; done
