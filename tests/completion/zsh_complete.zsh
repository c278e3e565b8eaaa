#!/usr/bin/env zsh
# Runs zsh's real completion on command lines, in an interactive zsh on a pseudo-terminal (zpty),
# and prints what it offers: one line per command line, "LINE -> MATCH MATCH ..." (sorted).
# Usage: zsh_complete.zsh COMPLETION_DIR 'swamp-bpf --act' 'swamp-bpf ctl ' ...
# (swamp-bpf must be on PATH). Used by check_completion.sh; exits 1 if zsh does not answer.
zmodload zsh/zpty || exit 77
dir=$1; shift
zpty z zsh -f -i
# compinit with our function first in fpath; Tab completes and Ctrl-U clears the line; compadd
# prints every match it is given (zsh's own matching applies, through -A), and "<<mark42>>" comes
# before and after each completion (computed, so that the echo of the typed definition does not count)
zpty -w z "PS1=''; fpath=(${(q)dir} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z 'mark() { echo -E - "<<mark$((6 * 7))>>" }'
# zsh empties compprefuncs and comppostfuncs after each completion: set them each time
zpty -w z 'complete() { compprefuncs=(mark); comppostfuncs=(mark); _main_complete }; zle -C complete complete-word complete'
zpty -w z 'bindkey "^I" complete; bindkey "^U" kill-whole-line; zstyle ":completion:*" insert-tab false'
zpty -w z 'compadd() { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a hits; builtin compadd -A hits "$@"; local h; for h in $hits; do echo -E - "MATCH:$h"; done }'
for line in "$@"; do
  zpty -w -n z "$line"$'\t'
  matches=() marks=0 deadline=$(( SECONDS + 20 ))
  while (( marks < 2 )); do
    (( SECONDS < deadline )) || { print -u2 "zsh gave no completion for: $line"; exit 1; }
    if zpty -r -t z out; then
      [[ $out == *"<<mark42>>"* ]] && (( marks++ ))
      [[ $out == MATCH:* ]] && matches+=(${${out#MATCH:}%%$'\r'*})
    else
      sleep 0.02
    fi
  done
  zpty -w -n z $'\C-u'
  print -r -- "$line -> ${(j: :)${(ou)matches}}"
done
zpty -d z
