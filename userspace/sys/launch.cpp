#include "sys/launch.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sys/limits.hpp"
#include "util/error.hpp"

namespace swamp {

LaunchedCommand::LaunchedCommand(const std::vector<std::string>& argv, pid_t pgrp) : name_(argv.at(0)) {
    int go[2], err[2];
    if (pipe2(go, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
        throw UserError(ExitCode::Failure, std::string("pipe: ") + strerror(errno));
    pid_ = fork();
    if (pid_ < 0) throw UserError(ExitCode::Failure, std::string("fork: ") + strerror(errno));
    if (pid_ == 0) {
        close(go[1]);
        close(err[0]);
        if (pgrp > 0) setpgid(0, pgrp);
        // the build gets default signal handling, whatever its launcher ignored or blocked
        for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGCHLD}) signal(s, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        restore_start_limits();  // and the open-file and memlock limits it was started with
        char byte;
        if (read(go[0], &byte, 1) != 1) _exit(127);  // parent gave up
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execvp(args[0], args.data());
        int e = errno;
        (void)!write(err[1], &e, sizeof e);
        _exit(127);
    }
    close(go[0]);
    close(err[1]);
    go_fd_ = go[1];
    err_fd_ = err[0];
}

LaunchedCommand::~LaunchedCommand() {
    if (!started_ && pid_ > 0) {
        close(go_fd_);  // the child reads EOF and exits
        waitpid(pid_, nullptr, 0);
    }
    if (err_fd_ >= 0) close(err_fd_);
}

void LaunchedCommand::start() {
    started_ = true;
    char byte = 1;
    (void)!write(go_fd_, &byte, 1);
    close(go_fd_);
    go_fd_ = -1;
    int e = 0;
    ssize_t n = read(err_fd_, &e, sizeof e);  // EOF on a successful exec (CLOEXEC)
    close(err_fd_);
    err_fd_ = -1;
    if (n == sizeof e) {
        waitpid(pid_, nullptr, 0);
        throw UserError(ExitCode::CannotRun, "cannot run " + name_ + ": " + strerror(e));
    }
}

int exit_code_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

}  // namespace swamp
