# bash completion for swamp-bpf: its subcommands, their flags and the flags' values, read from the
# binary's own --help at each completion, so that it never drifts from the program:
#   choices from the help's "HOW:{dry-run,freeze,signal}", files for FILE, PATH and TRACE, process
#   ids for PID, users for --user and --users (a comma list), and after `--` the completion of the
#   command to launch.
# Installed to share/bash-completion/completions/swamp-bpf (completion/CMakeLists.txt); works best
# with the bash-completion package loaded, and without it too. Tested by tests/completion/.
# shellcheck disable=SC2207  # COMPREPLY=($(compgen ...)): completions are words, as in bash-completion

# _swamp_bpf_parse < HELP: reads one --help text into
#   _swamp_bpf_flags      every flag (-o and --output alike)
#   _swamp_bpf_value      FLAG -> the type of its value (FILE, PID, HOW, ...), for flags that take one
#   _swamp_bpf_choices    FLAG -> its choices, space-separated, where the help lists them
#   _swamp_bpf_subs       the subcommands
#   _swamp_bpf_args       what the positionals take: "files", "command" or empty
_swamp_bpf_parse() {
    local line section='' short long type check
    _swamp_bpf_flags=() _swamp_bpf_subs=() _swamp_bpf_args=''
    _swamp_bpf_value=() _swamp_bpf_choices=()
    while IFS= read -r line; do
        case $line in
        Options: | Subcommands: | Positionals:) section=$line; continue ;;
        '') section=''; continue ;;
        esac
        case $section in
        Options:)
            # "  -o,--output FILE REQUIRED  ...", "  --action HOW:{dry-run,freeze,signal}", "  --pause  ..."
            [[ $line =~ ^\ \ (-[[:alnum:]],)?(--[[:alnum:]-]+)(\ ([A-Z]+)(:(\{[^}]*\}|[A-Z]+))?)? ]] || continue
            short=${BASH_REMATCH[1]%,} long=${BASH_REMATCH[2]} type=${BASH_REMATCH[4]} check=${BASH_REMATCH[6]}
            [[ $short ]] && _swamp_bpf_flags+=("$short")
            _swamp_bpf_flags+=("$long")
            [[ $type ]] || continue
            [[ $check == FILE ]] && type=FILE
            _swamp_bpf_value[$long]=$type
            [[ $short ]] && _swamp_bpf_value[$short]=$type
            if [[ $check == \{* ]]; then
                check=${check#\{} check=${check%\}}
                _swamp_bpf_choices[$long]=${check//,/ }
            fi
            ;;
        Subcommands:)
            [[ $line =~ ^\ \ ([a-z][a-z-]*)\  ]] && _swamp_bpf_subs+=("${BASH_REMATCH[1]}")
            ;;
        Positionals:)
            # "  file TEXT:FILE REQUIRED", "  trace TRACE:FILE REQUIRED", "  command CMD ..."
            if [[ $line =~ ^\ \ [[:alnum:]]+\ CMD ]]; then
                _swamp_bpf_args='command'
            elif [[ $line =~ ^\ \ [[:alnum:]]+\ ([A-Z]+:)?(FILE|PATH)( |$) ]]; then
                _swamp_bpf_args='files'
            fi
            ;;
        esac
    done
}

# _swamp_bpf_values FLAG CUR: the values FLAG takes, starting with CUR, into COMPREPLY
_swamp_bpf_values() {
    local flag=$1 cur=$2 head=''
    if [[ ${_swamp_bpf_choices[$flag]+set} ]]; then
        COMPREPLY=($(compgen -W "${_swamp_bpf_choices[$flag]}" -- "$cur"))
    elif [[ $flag == --user ]]; then
        COMPREPLY=($(compgen -u -- "$cur"))
    elif [[ $flag == --users ]]; then  # a comma list: complete its last name
        [[ $cur == *,* ]] && head=${cur%,*},
        COMPREPLY=($(compgen -P "$head" -u -- "${cur##*,}"))
        [[ ${#COMPREPLY[@]} -eq 1 ]] && compopt -o nospace 2>/dev/null
    else
        _swamp_bpf_typed "${_swamp_bpf_value[$flag]}" "$cur"
    fi
}

# _swamp_bpf_typed TYPE CUR: files for FILE, PATH and TRACE, process ids for PID, else nothing
# (a size, a number, a list of names)
_swamp_bpf_typed() {
    COMPREPLY=()
    case $1 in
    FILE | PATH | TRACE)
        if declare -F _filedir >/dev/null; then _filedir; else COMPREPLY=($(compgen -f -- "$2")); fi
        ;;
    PID)
        if declare -F _pids >/dev/null; then _pids; else COMPREPLY=($(compgen -W "$(ps -eo pid=)" -- "$2")); fi
        ;;
    esac
}

_swamp_bpf() {
    local cur prev words cword split
    if declare -F _init_completion >/dev/null; then
        _init_completion -s || return  # -s: "--action=fr" is prev "--action", cur "fr"
    else
        words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
        cur=${words[cword]} prev=${words[cword - 1]}
    fi
    local bin=${words[0]}
    command -v "$bin" >/dev/null 2>&1 || return
    local -a _swamp_bpf_flags _swamp_bpf_subs path=()
    local -A _swamp_bpf_value _swamp_bpf_choices
    local _swamp_bpf_args
    _swamp_bpf_parse < <("$bin" --help 2>/dev/null)

    # Walk the words before the cursor: subcommands lead to their own help; a flag's value is
    # skipped; after "--" comes the command to launch.
    local i w
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        if [[ $w == -- ]]; then
            if declare -F _command_offset >/dev/null; then
                _command_offset $((i + 1))
            elif ((cword == i + 1)); then
                COMPREPLY=($(compgen -c -- "$cur"))
            else
                COMPREPLY=($(compgen -f -- "$cur"))
            fi
            return
        elif [[ $w == -* ]]; then
            [[ $w != *=* && ${_swamp_bpf_value[$w]+set} ]] && ((i++))
        elif [[ " ${_swamp_bpf_subs[*]} " == *" $w "* ]]; then
            path+=("$w")
            _swamp_bpf_parse < <("$bin" "${path[@]}" --help 2>/dev/null)
        fi
    done

    if [[ ${_swamp_bpf_value[$prev]+set} ]] && { [[ $split == true ]] || [[ $cur != -* ]]; }; then
        _swamp_bpf_values "$prev" "$cur"
    elif [[ $cur == -* ]]; then
        local -a extra=()
        [[ $_swamp_bpf_args == command ]] && extra=(--)
        COMPREPLY=($(compgen -W "${_swamp_bpf_flags[*]} ${extra[*]}" -- "$cur"))
    elif ((${#_swamp_bpf_subs[@]})); then
        COMPREPLY=($(compgen -W "${_swamp_bpf_subs[*]}" -- "$cur"))
    elif [[ $_swamp_bpf_args == files ]]; then
        _swamp_bpf_typed FILE "$cur"
    fi
}
complete -F _swamp_bpf swamp-bpf
