#!/usr/bin/env bash
# shellcheck disable=SC2086  # "$bin" $s: the subcommand words are split on purpose
# Checks the manual pages that man/generate.sh wrote (ctest Man.pages): one page for swamp-bpf and
# one for each subcommand its --help lists, none other; each renders, has a NAME of its own, and
# lists as an option every flag that the matching --help prints (a nested subcommand's, such as
# `ctl status --json`, on its parent's page).
# Usage: check_man.sh SWAMP_BPF MAN_DIR
set -euo pipefail
bin=$1 dir=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
subcommands() { sed -n '/^Subcommands:$/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'; }
# "-o,--output" and "--json": the flags of a --help's option list
flags() { sed -n 's/^  \(\(-[a-zA-Z0-9],\)\?--[a-z0-9-]\+\).*/\1/p'; }
# a page's roff source as text: \- as -, fonts and other escapes dropped
text_of() { zcat "$1" | sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\[,/%&]//g'; }

subs=$("$bin" --help | subcommands)
[ -n "$subs" ] || fail "swamp-bpf --help lists no subcommands"
want=$(for s in "" $subs; do echo "swamp-bpf${s:+-$s}.8.gz"; done | sort)
got=$(find "$dir" -mindepth 1 -printf '%f\n' | sort)
[ "$want" = "$got" ] || fail "the pages in $dir are not one per subcommand: $(diff <(echo "$want") <(echo "$got") || true)"

checked=0
for s in "" $subs; do
  page=$dir/swamp-bpf${s:+-$s}.8.gz
  text=$(text_of "$page")
  if command -v groff >/dev/null; then
    zcat "$page" | groff -man -Tutf8 -z 2>&1 | grep -v 'cannot adjust line' | grep . && fail "$page: groff complains"
  fi
  name=$(grep -A1 '^\.SH NAME' <<<"$text" | tail -1)
  [[ $name == "swamp-bpf${s:+-$s} - "* ]] || fail "$page: NAME is '$name'"
  [[ $name != *"manual page for"* ]] || fail "$page: help2man's placeholder NAME: $name"
  # this subcommand's flags, and its own subcommands' (on the same page)
  helps=("$s")
  [ -z "$s" ] || for n in $("$bin" $s --help | subcommands); do helps+=("$s $n"); done
  for h in "${helps[@]}"; do
    for f in $("$bin" $h --help | flags); do
      grep -qE -- "^${f}( |$)" <<<"$text" || fail "$page: swamp-bpf $h --help prints $f, the page does not list it"
      checked=$((checked + 1))
    done
  done
done
echo "$(wc -w <<<"$subs") subcommand pages and swamp-bpf.8: $checked flags, each listed where its --help prints it"
