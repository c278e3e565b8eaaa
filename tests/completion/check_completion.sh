#!/usr/bin/env bash
# shellcheck disable=SC2086  # "$bin" $level: the subcommand words are split on purpose
# Checks the shell completion of swamp-bpf (ctest Completion.bash and Completion.zsh):
#   bash: after sourcing bash-completion and completion/swamp-bpf.bash, `complete -p swamp-bpf`
#         names our function, and completion runs (COMP_WORDS, COMP_CWORD, then COMPREPLY) offer
#         what they must;
#   zsh:  zsh's real completion, in an interactive zsh on a pty (zsh_complete.zsh), offers the same.
# Besides a few fixed cases, for every subcommand and nested subcommand that --help lists: "-"
# must offer every flag its --help prints, each flag with choices ({a,b}) must offer exactly
# those, and each flag that takes a FILE must offer files; so a new flag cannot be left out.
# Usage: check_completion.sh bash|zsh SWAMP_BPF SOURCE_DIR. Exits 77 when the shell is missing.
set -euo pipefail
shell=$1 bin=$2 src=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
PATH=$(dirname "$(readlink -f "$bin")"):$PATH
export PATH
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
touch "$tmp/trace-file.jsonl"

# ---- what --help says, read here on its own: the levels, their flags and values ----
subcommands() { sed -n '/^Subcommands:$/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'; }
levels=("")
for s in $("$bin" --help | subcommands); do
  levels+=("$s")
  for n in $("$bin" $s --help | subcommands); do levels+=("$s $n"); done
done
# "FLAG KIND VALUE": kind "choices" with "a,b", or "file" (FILE, PATH); other flags "FLAG - -"
flag_table() {  # flag_table LEVEL
  "$bin" $1 --help | sed -n '/^Options:$/,/^$/p' | while IFS= read -r line; do
    [[ $line =~ ^\ \ (-[[:alnum:]],)?(--[[:alnum:]-]+)(\ ([A-Z]+)(:(\{[^}]*\}|[A-Z]+))?)? ]] || continue
    short=${BASH_REMATCH[1]%,} long=${BASH_REMATCH[2]} type=${BASH_REMATCH[4]} check=${BASH_REMATCH[6]}
    kind=- value=-
    if [[ $check == \{*\} ]]; then kind=choices value=${check:1:-1}
    elif [[ $type == FILE || $type == PATH || $check == FILE ]]; then kind='file'
    fi
    echo "$long $kind $value"
    [ -z "$short" ] || echo "$short $kind $value"
  done
}

# ---- the cases: "WORDS|EXPECTED", EXPECTED the sorted words that must all be offered ----
cases=(
  "swamp-bpf |check-config ctl history probe recover replay report service trace"
  "swamp-bpf --act|--action"
  "swamp-bpf --action |dry-run freeze signal"
  "swamp-bpf service --page-out o|off on"
  "swamp-bpf ctl |drain limit pause resume status"
  "swamp-bpf ctl status --j|--json"
  "swamp-bpf history forget --a|--all"
  "swamp-bpf check-config $tmp/trace-f|$tmp/trace-file.jsonl"
  "swamp-bpf report -o $tmp/trace-f|$tmp/trace-file.jsonl"
  "swamp-bpf --user roo|root"
  "swamp-bpf --mem-budget 1G -- mkdi|mkdir"
)
for level in "${levels[@]}"; do
  words="swamp-bpf${level:+ $level}"
  flags=$(flag_table "$level" | awk '{print $1}' | sort -u | xargs)
  cases+=("$words -|$flags")
  while read -r flag kind value; do
    case $kind in
    choices) cases+=("$words $flag |$(tr , '\n' <<<"$value" | sort | xargs)") ;;
    file) cases+=("$words $flag $tmp/trace-f|$tmp/trace-file.jsonl") ;;
    esac
  done < <(flag_table "$level")
done

# ---- the shells ----
results=$tmp/results
case $shell in
bash)
  bc=/usr/share/bash-completion/bash_completion
  [ -r $bc ] || { echo "SKIP: bash-completion is not installed (scripts/deps.sh --test installs it)"; exit 77; }
  out=$(bash --norc -c '
    . "$1"; . "$2/completion/swamp-bpf.bash"
    complete -p swamp-bpf
    compopt() { :; }  # only valid while bash itself completes
    shift 2
    for c in "$@"; do
      line=${c%%|*}
      read -ra COMP_WORDS <<<"$line"
      [[ $line == *" " ]] && COMP_WORDS+=("")
      COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) COMP_LINE=$line COMP_POINT=${#line} COMPREPLY=()
      _swamp_bpf swamp-bpf "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
      echo "$line -> ${COMPREPLY[*]}"
    done' bash "$bc" "$src" "${cases[@]}") || fail "bash exited $?: $out"
  grep -qx 'complete -F _swamp_bpf swamp-bpf' <<<"$out" || fail "complete -p swamp-bpf: $(head -1 <<<"$out")"
  tail -n +2 <<<"$out" > "$results"
  ;;
zsh)
  command -v zsh >/dev/null || { echo "SKIP: zsh is not installed"; exit 77; }
  lines=(); for c in "${cases[@]}"; do lines+=("${c%%|*}"); done
  zsh -f "$(dirname "$0")/zsh_complete.zsh" "$src/completion" "${lines[@]}" > "$results" || fail "zsh_complete.zsh exited $?"
  ;;
*) fail "unknown shell $shell" ;;
esac

# ---- every case must offer what it expects ----
n=0
for c in "${cases[@]}"; do
  line=${c%%|*} want=${c#*|}
  got=$(awk -v l="$line -> " 'index($0, l) == 1 { print substr($0, length(l) + 1); exit }' "$results")
  for w in $want; do
    # bash offers files with their path, zsh the name within the directory typed
    [[ " $got " == *" $w "* || " $got " == *" ${w##*/} "* ]] \
      || fail "$shell: '$line<Tab>' offers [$got], not $w"
  done
  n=$((n + 1))
done
echo "$shell: $n completion runs over ${#levels[@]} commands offer what --help says"
