// Launch mode: fork the build command, hold it until the BPF side tracks its
// pid, then let it exec. No event of the command can be missed.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace swamp {

class LaunchedCommand {
public:
    // Forks; the child waits for start() before it execs argv (PATH lookup).
    // With `pgrp` > 0 the child joins that process group (of our session).
    explicit LaunchedCommand(const std::vector<std::string>& argv, pid_t pgrp = 0);
    // Kills the child if it was never started.
    ~LaunchedCommand();
    LaunchedCommand(const LaunchedCommand&) = delete;
    LaunchedCommand& operator=(const LaunchedCommand&) = delete;

    pid_t pid() const { return pid_; }
    // Lets the child exec; throws UserError(CannotRun) if exec failed.
    void start();

private:
    pid_t pid_ = -1;
    int go_fd_ = -1;   // write end: one byte releases the child
    int err_fd_ = -1;  // read end: the child's errno if exec failed
    bool started_ = false;
    std::string name_;
};

// What a shell would exit with for a waitpid() status: the code, or 128 + signal.
int exit_code_of(int wait_status);

}  // namespace swamp
