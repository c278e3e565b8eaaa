#include "sys/launch.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sys/limits.hpp"
#include "util/error.hpp"

namespace swamp {

namespace {

// What the child reports when it cannot exec: the step and its errno.
struct ChildError {
    enum Step : int { Exec, SetGroups, SetGid, SetUid, StillPrivileged } step = Exec;
    int err = 0;
};

const char* step_name(ChildError::Step s) {
    switch (s) {
    case ChildError::SetGroups: return "setgroups";
    case ChildError::SetGid: return "setgid";
    case ChildError::SetUid: return "setuid";
    case ChildError::StillPrivileged: return "checking that privileges are gone";
    case ChildError::Exec: break;
    }
    return "exec";
}

// The child, in this order: supplementary groups, then the group, then the user
// (after setuid it could change neither), each checked; and root cannot come back.
ChildError drop_to(const UserInfo& u) {
    if (setgroups(u.groups.size(), u.groups.data()) != 0) return {ChildError::SetGroups, errno};
    if (setgid(u.gid) != 0) return {ChildError::SetGid, errno};
    if (setuid(u.uid) != 0) return {ChildError::SetUid, errno};
    uid_t r, e, s;
    gid_t gr, ge, gs;
    if (getresuid(&r, &e, &s) != 0 || getresgid(&gr, &ge, &gs) != 0 || r != u.uid || e != u.uid || s != u.uid ||
        gr != u.gid || ge != u.gid || gs != u.gid || (u.uid != 0 && setuid(0) == 0))
        return {ChildError::StillPrivileged, EPERM};
    return {};
}

}  // namespace

std::optional<RunAs> run_as_for_launch(const std::string& as) {
    std::vector<std::string> env = current_environment();
    std::optional<UserInfo> u = run_as_user(as, env);
    if (!u) return std::nullopt;
    return RunAs{*u, environment_for(env, *u, runtime_dir_of(u->uid))};
}

LaunchedCommand::LaunchedCommand(const std::vector<std::string>& argv, pid_t pgrp, const std::optional<RunAs>& as)
    : name_(argv.at(0)) {
    if (as) as_ = " as " + as->user.name + " (uid " + std::to_string(as->user.uid) + ")";
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
        std::vector<char*> args, env;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ChildError failed;
        if (as) {
            for (const auto& e : as->env) env.push_back(const_cast<char*>(e.c_str()));
            env.push_back(nullptr);
            failed = drop_to(as->user);
        }
        if (!failed.err) {
            as ? execvpe(args[0], args.data(), env.data()) : execvp(args[0], args.data());
            failed = {ChildError::Exec, errno};
        }
        (void)!write(err[1], &failed, sizeof failed);
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
    ChildError e;
    ssize_t n = read(err_fd_, &e, sizeof e);  // EOF on a successful exec (CLOEXEC)
    close(err_fd_);
    err_fd_ = -1;
    if (n == sizeof e) {
        waitpid(pid_, nullptr, 0);
        std::string step = e.step == ChildError::Exec ? "" : std::string(step_name(e.step)) + ": ";
        throw UserError(ExitCode::CannotRun, "cannot run " + name_ + as_ + ": " + step + strerror(e.err));
    }
}

int exit_code_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

void reap_children(const std::function<void(pid_t pid, int wait_status)>& each) {
    int status = 0;
    for (pid_t p; (p = ::waitpid(-1, &status, WNOHANG)) > 0;) each(p, status);
}

}  // namespace swamp
