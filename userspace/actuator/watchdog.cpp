#include "actuator/watchdog.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <map>
#include <sstream>

#include "actuator/leftovers.hpp"
#include "sys/cgroupfs.hpp"
#include "sys/launch.hpp"
#include "sys/limits.hpp"
#include "sys/proc.hpp"
#include "sys/self.hpp"
#include "sys/signals.hpp"
#include "util/error.hpp"

namespace swamp {

namespace {


void write_line(int fd, const std::string& line) {
    std::string text = line + "\n";
    (void)!write(fd, text.data(), text.size());  // short lines: atomic on a pipe
}

// Open files the watchdog keeps for itself beside its pidfds: its pipes, the
// command's pidfd, a /proc read, the state file.
constexpr uint64_t kWatchdogOwnFds = 16;

struct Held {
    int pidfd;
    HeldProcess process;
};

// The watchdog's view: what it holds, mirrored into the state file.
class WatchdogState {
public:
    explicit WatchdogState(std::optional<std::string> cgroup2) : cgroup2_(std::move(cgroup2)) {
        file_.controller = getppid();
        file_.watchdog = getpid();
        if (auto st = read_proc_stat(file_.controller)) file_.controller_start = st->start_ticks;
        if (auto st = read_proc_stat(file_.watchdog)) file_.watchdog_start = st->start_ticks;
    }

    // Returns, for an "S" line, what could not be held: "A" alone when all
    // was, else "A ERRNO PID…" (out of file descriptors).
    std::string handle(const std::string& text) {
        std::istringstream line(text);
        char cmd = 0;
        uint64_t job = 0;
        line >> cmd;
        if (cmd == 'C') {
            std::getline(line >> std::ws, file_.cgroup_dir);
        } else if (cmd == 'S') {
            line >> job;
            int err = 0;
            std::string unheld;
            for (pid_t pid; line >> pid;) {
                int e = hold(job, pid);
                if (!e) continue;
                err = e;
                unheld += " " + std::to_string(pid);
            }
            return err ? "A " + std::to_string(err) + unheld : "A";
        } else if (cmd == 'R') {
            line >> job;
            release(job);
        } else if (cmd == 'Q') {
            while (!held_.empty()) release(held_.begin()->first);
        }
        return "";
    }

    void save() {
        file_.held.clear();
        for (const auto& [job, list] : held_)
            for (const Held& h : list) file_.held.push_back(h.process);
        if (!write_state(file_) && !warned_) {
            std::cerr << "swamp-bpf: warning: cannot write " << state_path(file_.controller)
                      << ": if swamp-bpf and its watchdog are both killed, a restart cannot resume what they stopped\n";
            warned_ = true;
        }
    }

    // The controller is gone: resume everything still held, thaw our cgroups.
    void resume_everything() {
        for (auto& [job, list] : held_)
            for (const Held& h : list) pidfd_signal(h.pidfd, SIGCONT);
        if (!file_.cgroup_dir.empty() && access(file_.cgroup_dir.c_str(), F_OK) == 0)
            release_swamp_cgroup(file_.cgroup_dir, cgroup2_);
        while (!held_.empty()) release(held_.begin()->first);
        unlink(state_path(file_.controller).c_str());
    }

private:
    // 0 when held or gone, else the errno (EMFILE, ENFILE) that kept us from holding it.
    int hold(uint64_t job, pid_t pid) {
        if (count_ + kWatchdogOwnFds >= fd_limit()) return EMFILE;
        errno = 0;
        int fd = open_pidfd(pid);
        if (fd < 0) return out_of_fds(errno) ? errno : 0;
        auto st = read_proc_stat(pid);  // the pidfd pins it; signal 0 proves the read was of it
        int err = errno;
        bool alive = pidfd_signal(fd, 0) == 0;
        if (st && alive) {
            held_[job].push_back({fd, {job, pid, st->start_ticks}});
            count_++;
            return 0;
        }
        close(fd);
        return alive ? (out_of_fds(err) ? err : EMFILE) : 0;
    }

    void release(uint64_t job) {
        for (const Held& h : held_[job]) close(h.pidfd), count_--;
        held_.erase(job);
    }

    std::optional<std::string> cgroup2_;  // the controller's probe found it
    StateFile file_;
    std::map<uint64_t, std::vector<Held>> held_;
    uint64_t count_ = 0;  // pidfds in held_
    bool warned_ = false;
};

}  // namespace

void watchdog_main(int in, int out, int ack, const std::optional<std::string>& cgroup2,
                   const std::vector<std::string>& command, pid_t command_pgrp, const std::optional<RunAs>& as) {
    std::unique_ptr<LaunchedCommand> cmd;
    int child_fd = -1;  // SIGCHLD: the command or an orphan of the build exited
    if (!command.empty()) {
        // Orphans of the build (make killed) come to us, not to init: their parent stays in
        // another group of the session, so their group never turns orphaned while we hold
        // some of them stopped (the kernel would send it SIGHUP, and kill the jobs).
        prctl(PR_SET_CHILD_SUBREAPER, 1);
        sigset_t chld;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        sigprocmask(SIG_BLOCK, &chld, nullptr);
        child_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
        try {
            cmd = std::make_unique<LaunchedCommand>(command, command_pgrp, as);
            write_line(out, "P " + std::to_string(cmd->pid()));
        } catch (const UserError& e) {
            write_line(out, std::string("E ") + e.what());
            return;
        }
    }
    set_oom_score_adj(-1000);  // after the fork: the command keeps the user's value
    // memory locks are not inherited: lock our own (the controller says once if it cannot)
    (void)lock_memory();
    WatchdogState state(cgroup2);
    state.save();
    std::string buffer;
    char chunk[4096];
    bool command_reaped = false;
    for (;;) {
        pollfd fds[2] = {{in, POLLIN, 0}, {child_fd, POLLIN, 0}};
        if (poll(fds, child_fd >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (child_fd >= 0 && fds[1].revents) {
            signalfd_siginfo si;
            while (read(child_fd, &si, sizeof si) == sizeof si) {
            }
            // reap the command, and orphans that ended while we live (their exit is seen by BPF);
            // those still running when we exit go on to the next subreaper or init
            int status;
            for (pid_t pid; (pid = waitpid(-1, &status, WNOHANG)) > 0;)
                if (cmd && pid == cmd->pid() && !command_reaped) {
                    command_reaped = true;
                    write_line(out, "X " + std::to_string(status));
                }
        }
        if (!fds[0].revents) continue;
        ssize_t n = read(in, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // EOF: the controller is gone
        buffer.append(chunk, size_t(n));
        bool changed = false;
        for (size_t nl; (nl = buffer.find('\n')) != std::string::npos;) {
            std::string line = buffer.substr(0, nl);
            buffer.erase(0, nl + 1);
            if (line == "G" && cmd) {
                try {
                    cmd->start();
                    write_line(out, "K");
                } catch (const UserError& e) {
                    write_line(out, std::string("E ") + e.what());
                    command_reaped = true;  // start() reaped it
                }
            } else {
                if (std::string reply = state.handle(line); !reply.empty()) write_line(ack, reply);
                changed = true;
            }
        }
        if (changed) state.save();
    }
    state.resume_everything();
    if (child_fd >= 0) close(child_fd);
}

Watchdog::Watchdog(const std::optional<std::string>& cgroup2, const std::vector<std::string>& command,
                   const std::optional<RunAs>& as) {
    int ctl[2], rep[2], ack[2];
    if (pipe2(ctl, O_CLOEXEC) || pipe2(rep, O_CLOEXEC) || pipe2(ack, O_CLOEXEC))
        throw UserError(ExitCode::Failure, std::string("pipe: ") + strerror(errno));
    pid_t pgrp = getpgrp();
    pid_ = fork();
    if (pid_ < 0) throw UserError(ExitCode::Failure, std::string("cannot start the watchdog: ") + strerror(errno));
    if (pid_ == 0) {
        setpgid(0, 0);  // its own group, same session: see the header
        prctl(PR_SET_NAME, "swamp-watchdog");
        for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU}) signal(s, SIG_IGN);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        int in = fcntl(ctl[0], F_DUPFD_CLOEXEC, 10), out = fcntl(rep[1], F_DUPFD_CLOEXEC, 10),
            acks = fcntl(ack[1], F_DUPFD_CLOEXEC, 10);
        dup3(in, 3, O_CLOEXEC);
        dup3(out, 4, O_CLOEXEC);
        dup3(acks, 5, O_CLOEXEC);
        close_range(6, ~0u, 0);  // no BPF, cgroup or terminal fds
        watchdog_main(3, 4, 5, cgroup2, command, pgrp, as);
        _exit(0);
    }
    close(ctl[0]);
    close(rep[1]);
    close(ack[1]);
    pipe_ = ctl[1];
    reply_fd_ = rep[0];
    ack_fd_ = ack[0];
    if (command.empty()) return;
    std::string reply = read_reply();
    if (reply.rfind("P ", 0) == 0) {
        command_pid_ = pid_t(std::stol(reply.substr(2)));
        return;
    }
    close(pipe_);
    waitpid(pid_, nullptr, 0);
    throw UserError(ExitCode::CannotRun, reply.size() > 2 ? reply.substr(2) : "the watchdog failed to start");
}

Watchdog::~Watchdog() {
    close(pipe_);
    close(reply_fd_);
    close(ack_fd_);
    waitpid(pid_, nullptr, 0);
}

std::string Watchdog::read_reply() {
    size_t nl;
    while ((nl = replies_.find('\n')) == std::string::npos) {
        char chunk[512];
        ssize_t n = read(reply_fd_, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw UserError(ExitCode::Failure, "the watchdog died");
        replies_.append(chunk, size_t(n));
    }
    std::string line = replies_.substr(0, nl);
    replies_.erase(0, nl + 1);
    return line;
}

void Watchdog::start_command() {
    tell("G");
    std::string reply = read_reply();
    if (reply.rfind("E ", 0) == 0) throw UserError(ExitCode::CannotRun, reply.substr(2));
    parse_replies();  // a command that exits at once: its "X" may have come with the "K"
}

void Watchdog::read_replies() {
    char chunk[512];
    ssize_t n = read(reply_fd_, chunk, sizeof chunk);  // called when epoll says readable
    if (n == 0) died_ = true;
    if (n > 0) replies_.append(chunk, size_t(n));
    parse_replies();
}

void Watchdog::parse_replies() {
    for (size_t nl; (nl = replies_.find('\n')) != std::string::npos;) {
        std::string line = replies_.substr(0, nl);
        replies_.erase(0, nl + 1);
        if (line.rfind("X ", 0) == 0) status_ = std::stoi(line.substr(2));
    }
}

void Watchdog::tell(const std::string& line) { write_line(pipe_, line); }

std::string Watchdog::hold(uint64_t job, const std::vector<pid_t>& pids) {
    std::string line = "S " + std::to_string(job);
    for (pid_t p : pids) line += " " + std::to_string(p);
    tell(line);
    // one answer per request, nothing else on this pipe; an answer that came
    // after its timeout is skipped
    std::string reply;
    for (;;) {
        if (size_t nl = acks_.find('\n'); nl != std::string::npos) {
            reply = acks_.substr(0, nl);
            acks_.erase(0, nl + 1);
            if (late_acks_ == 0) break;
            late_acks_--;
        }
        pollfd p{ack_fd_, POLLIN, 0};
        int n = poll(&p, 1, kAckTimeoutMs);
        if (n < 0 && errno == EINTR) continue;
        char chunk[512];
        ssize_t got = n > 0 ? read(ack_fd_, chunk, sizeof chunk) : 0;
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            late_acks_++;
            return "the watchdog (pid " + std::to_string(pid_) + ") did not answer";
        }
        acks_.append(chunk, size_t(got));
    }
    std::istringstream in(reply.substr(reply.rfind('A', 0) == 0 ? 1 : 0));
    int err = 0;
    in >> err;
    if (!err) return "";
    std::string what = "the watchdog cannot hold pid";
    int n = 0;
    for (pid_t pid; in >> pid; n++)
        if (n < 5) what += " " + std::to_string(pid);
    return what + (n > 5 ? " and " + std::to_string(n - 5) + " more" : "") + ": " + strerror(err);
}

WatchedActuator::WatchedActuator(std::unique_ptr<Actuator> inner, Watchdog& watchdog)
    : ForwardingActuator(std::move(inner)), watchdog_(watchdog) {
    std::string dir = inner_->cgroup_dir();
    if (!dir.empty()) watchdog_.tell("C " + dir);
}

WatchedActuator::~WatchedActuator() { resume_all(); }

// A process stopped by someone else before we stop it is not ours: the
// watchdog never holds it, so never resumes it. A process the watchdog cannot
// hold is Unheld: the controller resumes its job and never stops it again.
Vetted WatchedActuator::on_join(uint64_t job, pid_t pid, bool job_stopped, uint64_t seen_ns) {
    bool ours = job_stopped && !is_stopped(pid);
    Vetted v = inner_->on_join(job, pid, job_stopped, seen_ns);
    if (v.verdict != Verdict::Ok || !ours) return v;
    if (std::string why = watchdog_.hold(job, {pid}); !why.empty()) {
        unheld_.insert(job);
        return {Verdict::Unheld, why, v.comm};
    }
    return v;
}

void WatchedActuator::on_job_end(uint64_t job) {
    inner_->on_job_end(job);
    unheld_.erase(job);
    watchdog_.tell("R " + std::to_string(job));
}

bool WatchedActuator::stop(uint64_t job, const std::vector<pid_t>& pids, std::string& error) {
    // held first: should we die between the two, the watchdog resumes a running job, harmlessly;
    // what it cannot hold is never stopped, and what someone else stopped is not ours to hold
    std::vector<pid_t> ours;
    for (pid_t p : pids)
        if (!is_stopped(p)) ours.push_back(p);
    if (std::string why = watchdog_.hold(job, ours); !why.empty()) {
        watchdog_.tell("R " + std::to_string(job));
        unheld_.insert(job);
        error = why + "; the job is not stopped";
        return false;
    }
    bool ok = inner_->stop(job, pids, error);
    if (!ok) watchdog_.tell("R " + std::to_string(job));  // the actuator undid it
    return ok;
}

bool WatchedActuator::resume(uint64_t job, const std::vector<pid_t>& pids, std::string& error) {
    bool ok = inner_->resume(job, pids, error);
    if (ok) watchdog_.tell("R " + std::to_string(job));
    return ok;
}

void WatchedActuator::resume_all() {
    inner_->resume_all();
    watchdog_.tell("Q");
}

}  // namespace swamp
