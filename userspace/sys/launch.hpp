// Launch mode: fork the build command, hold it until the BPF side tracks its
// pid, then let it exec. No event of the command can be missed.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sys/users.hpp"

namespace swamp {

// Who a launched command runs as, and with what environment (sys/users.hpp).
struct RunAs {
    UserInfo user;
    std::vector<std::string> env;  // NAME=value
};

// Who a command launched by us runs as (`as`: --as, "" when not given), and its environment;
// nullopt when it runs as we do (root). Throws UserError(Usage) when the user cannot be resolved.
std::optional<RunAs> run_as_for_launch(const std::string& as);

class LaunchedCommand {
public:
    // Forks; the child waits for start() before it execs argv (PATH lookup).
    // With `pgrp` > 0 the child joins that process group (of our session).
    // With `as`, the child drops to that user (setgroups, setgid, setuid, each
    // checked) just before it execs with `as->env`.
    explicit LaunchedCommand(const std::vector<std::string>& argv, pid_t pgrp = 0,
                             const std::optional<RunAs>& as = std::nullopt);
    // Kills the child if it was never started.
    ~LaunchedCommand();
    LaunchedCommand(const LaunchedCommand&) = delete;
    LaunchedCommand& operator=(const LaunchedCommand&) = delete;

    pid_t pid() const { return pid_; }
    // Lets the child exec; throws UserError(CannotRun) if exec, or dropping to
    // the user, failed.
    void start();

private:
    pid_t pid_ = -1;
    int go_fd_ = -1;   // write end: one byte releases the child
    int err_fd_ = -1;  // read end: what failed in the child (a ChildError)
    bool started_ = false;
    std::string name_;
    std::string as_;  // " as USER (uid N)" when the command runs as another user
};

// What a shell would exit with for a waitpid() status: the code, or 128 + signal.
int exit_code_of(int wait_status);

// Reaps every child that has exited, without waiting; `each` gets its pid and waitpid() status.
void reap_children(const std::function<void(pid_t pid, int wait_status)>& each);

}  // namespace swamp
