// A job's command signature: what identifies "the same job" across runs of a
// build, so that its recorded peak memory can predict the next run's. Pure: no I/O.
//
// Rules (docs/history.md, "History"):
// - Wrappers are skipped: ccache, distcc, icecc, sccache, env (options and VAR=x), nice, ionice, time,
//   nohup, exec, libtool (its --options), `sh|bash|dash -c "CMD"` (the first simple command of CMD that
//   is not a shell builtin or a setup command: cd, set, export, mkdir, rm, touch …, see signature.cpp).
// - Compilers and linkers (gcc g++ cc c++ clang clang++ cc1 cc1plus, cross names such as
//   x86_64-pc-linux-gnu-g++ or g++-12, ld ld.bfd ld.gold ld.lld lld mold collect2, rustc):
//   key = "TOOL MODE [SOURCE] [-o OUTPUT] [-OLEVEL] [LTO FLAGS…]", MODE compile, link or other.
// - Any other tool: key = "TOOL ARGS…".
// - Every path is reduced to its basename, so the same tree built in another directory, or the next
//   version of a package (…/pkg-1.3/…), still matches. Two jobs whose files share a basename share
//   their history; the prediction (a max) is then conservative for both.
// - gcc's and clang's temporary files (/tmp/ccAbCdEf.s, /tmp/foo-1a2b3c.o) are left out of the key.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace swamp {

struct CommandSignature {
    std::string key;   // stable across runs and build directories; never ""
    std::string tool;  // the real tool after wrappers: "cc1plus", "g++", "clang++", "ld.lld", "hog", …
    bool is_link = false;
    std::vector<std::string> link_inputs;  // for links: the input paths (.o .a .so .lo …) as given
};

// Keys longer than this end in "…#" and a hash of the whole key, so they stay readable and stable.
inline constexpr size_t kMaxSignatureKey = 400;

// nullopt: nothing to predict (an empty argv, a bare shell, a build driver like make or ninja, or a
// shell command made only of builtins and setup commands).
std::optional<CommandSignature> command_signature(const std::vector<std::string>& argv);

// The words of the first simple command of a shell command line that is not a builtin or a setup
// command (see above), with quotes removed, redirections and leading VAR=x dropped. Empty if none.
std::vector<std::string> first_shell_command(const std::string& command_line);

}  // namespace swamp
