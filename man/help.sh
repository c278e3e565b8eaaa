#!/bin/sh
# shellcheck disable=SC2086  # $SWAMP_BPF ("[EMULATOR] BIN") and the subcommands are word lists
# The program help2man reads to write a manual page (man/CMakeLists.txt). `help.sh --help` prints
# `swamp-bpf $SWAMP_SUB --help` and then, under a heading each, the help of every subcommand
# that one lists (`ctl status`, `history forget`, ...), so that one page documents them all;
# `help.sh --version` prints swamp-bpf's. $SWAMP_BPF is the binary, with an emulator in front
# when cross-compiling; $SWAMP_SUB is empty for the top-level page.
set -eu
case ${1:-} in
--version)  # "swamp-bpf-ctl 0.1.0": help2man names the page after it
  $SWAMP_BPF --version | sed "s/^swamp-bpf/swamp-bpf${SWAMP_SUB:+-$SWAMP_SUB}/"; exit ;;
--help) ;;
*) echo "usage: SWAMP_BPF=BIN SWAMP_SUB=SUBCOMMAND $0 --help|--version" >&2; exit 2 ;;
esac
help=$($SWAMP_BPF ${SWAMP_SUB:-} --help)
printf '%s\n' "$help"
[ -n "${SWAMP_SUB:-}" ] || exit 0  # the top-level subcommands have pages of their own
for sub in $(printf '%s\n' "$help" | sed -n '/^Subcommands:$/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'); do
  echo
  echo "swamp-bpf $SWAMP_SUB $sub:"
  # As one list that help2man renders: the usage line with the description, then the positionals
  # and options (not --help; the exit codes are the parent's).
  $SWAMP_BPF $SWAMP_SUB "$sub" --help | awk '
    NR == 1 { what = $0; next }
    /^Usage: / { sub(/^Usage: /, ""); printf "  %s\n%30s%s\n", $0, "", what; next }
    /^Exit codes:/ { exit }
    /^  -h,--help / || /^[A-Z][a-z]*:$/ || /^$/ { next }
    { print }'
done
