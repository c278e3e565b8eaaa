// Errors that end swamp-bpf, each with its own documented exit code
// (docs/config.md, "Exit codes").
#pragma once

#include <stdexcept>
#include <string>

namespace swamp {

enum class ExitCode : int {
    Ok = 0,
    Failure = 1,        // an unexpected runtime failure
    Usage = 2,          // bad flags or values
    Permission = 3,     // not root / missing CAP_BPF or CAP_SYS_ADMIN
    BadPid = 4,         // no such process, pid 1, ourselves, a kernel thread
    KernelFeature = 5,  // no BTF, no ring buffer, a missing tracepoint
    BadBtf = 6,         // --btf FILE is not usable BTF
    Config = 7,         // a bad config file
    Cgroup = 8,         // a cgroup we need is missing or not writable
    History = 9,        // the history database cannot be used (corrupt, locked, unreadable)
    CannotRun = 127,    // the command to launch could not be executed
};

// Thrown for an error the user can act on; main() prints `what()` on one line
// and exits with `code`.
class UserError : public std::runtime_error {
public:
    UserError(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
    ExitCode code() const { return code_; }

private:
    ExitCode code_;
};

}  // namespace swamp
