#include "actuator/signal_actuator.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "sys/limits.hpp"
#include "sys/proc.hpp"
#include "sys/signals.hpp"

namespace swamp {

SignalActuator::SignalActuator(Vetter vetter) : vetter_(std::move(vetter)), fd_limit_(fd_limit()) {}

SignalActuator::~SignalActuator() {
    try {
        resume_all();
    } catch (...) {
    }
    for (auto& [pid, fd] : pidfds_) ::close(fd);
}

int SignalActuator::send(pid_t pid, int sig) {
    auto it = pidfds_.find(pid);
    if (it == pidfds_.end()) return 0;
    if (pidfd_signal(it->second, sig) == 0) return 0;
    return errno == ESRCH ? 0 : errno;
}

Vetted SignalActuator::on_join(uint64_t job, pid_t pid, bool job_stopped, uint64_t seen_ns) {
    if (auto it = pidfds_.find(pid); it != pidfds_.end()) {  // again, after an exec: its name changed
        Vetted v = vetter_.vet(pid, seen_ns);
        if (v.verdict == Verdict::Protected) {
            for (auto& [id, pids] : stopped_)  // stopped before its name was known: never left so
                if (pids.erase(pid)) pidfd_signal(it->second, SIGCONT);
            ::close(it->second);
            pidfds_.erase(it);
        }
        return v;
    }
    // kOwnFds stay free for our own files: a pidfd must never cost a /proc read or an accept
    if (pidfds_.size() + kOwnFds >= fd_limit_) return unheld_verdict(EMFILE);
    int fd = open_pidfd(pid);
    if (fd < 0) return out_of_fds(errno) ? unheld_verdict(errno) : Vetted{Verdict::Gone, "", ""};
    // the pidfd pins the process; a signal 0 after the /proc read proves the read was of it
    Vetted v = vetter_.vet(pid, seen_ns);
    if (v.verdict == Verdict::Ok && pidfd_signal(fd, 0) != 0) v = {Verdict::Gone, "", ""};
    if (v.verdict != Verdict::Ok) {
        ::close(fd);
        return v;
    }
    pidfds_[pid] = fd;
    if (job_stopped && !is_stopped(pid)) {
        if (send(pid, SIGSTOP) != 0) return {Verdict::Gone, "", ""};
        stopped_[job].insert(pid);
    }
    return v;
}
void SignalActuator::on_exit(pid_t pid) {
    auto it = pidfds_.find(pid);
    if (it != pidfds_.end()) {
        ::close(it->second);
        pidfds_.erase(it);
    }
    for (auto& [job, pids] : stopped_) pids.erase(pid);
}

// A job ends when its last process exits, or dissolves when one of its
// processes execs a driver (recursive make): whatever of it we stopped still
// lives then and runs again before we forget it.
void SignalActuator::on_job_end(uint64_t job) {
    auto it = stopped_.find(job);
    if (it == stopped_.end()) return;
    for (pid_t pid : it->second) send(pid, SIGCONT);
    stopped_.erase(it);
}

void SignalActuator::restop() {
    for (auto& [job, pids] : stopped_)
        for (pid_t pid : pids) send(pid, SIGSTOP);
}


bool SignalActuator::stop(uint64_t job, const std::vector<pid_t>& pids, std::string& error) {
    if (!pids.empty() && std::none_of(pids.begin(), pids.end(), [&](pid_t p) { return pidfds_.count(p); })) {
        error = "no process of the job may be stopped (protected, or gone)";
        return false;
    }
    std::set<pid_t> mine = stopped_.count(job) ? stopped_[job] : std::set<pid_t>{};
    std::vector<pid_t> done;
    for (pid_t pid : pids) {
        if (!pidfds_.count(pid) || mine.count(pid)) continue;  // protected or gone: never signalled
        if (is_stopped(pid)) continue;  // by someone else: not ours to stop, nor to resume
        int e = send(pid, SIGSTOP);
        if (e != 0) {
            for (pid_t d : done) send(d, SIGCONT);  // never leave the job half stopped
            error = "SIGSTOP to pid " + std::to_string(pid) + ": " + std::strerror(e);
            return false;
        }
        done.push_back(pid);
    }
    mine.insert(done.begin(), done.end());
    if (!mine.empty()) stopped_[job] = std::move(mine);
    return true;
}

// Only what we stopped: a process someone else stopped stays as they left it.
bool SignalActuator::resume(uint64_t job, const std::vector<pid_t>&, std::string& error) {
    auto it = stopped_.find(job);
    if (it == stopped_.end()) return true;
    std::set<pid_t> failed;  // kept, so resume_all() tries them again
    for (pid_t pid : it->second) {
        int e = send(pid, SIGCONT);
        if (e != 0) {
            if (failed.empty()) error = "SIGCONT to pid " + std::to_string(pid) + ": " + std::strerror(e);
            failed.insert(pid);
        }
    }
    bool ok = failed.empty();
    if (ok)
        stopped_.erase(it);
    else
        it->second = std::move(failed);
    return ok;
}

PageOutTarget SignalActuator::page_out_target(uint64_t job) {
    PageOutTarget t;
    auto it = stopped_.find(job);
    if (it == stopped_.end()) return t;
    for (pid_t pid : it->second)
        if (auto fd = pidfds_.find(pid); fd != pidfds_.end())
            if (int dup = ::fcntl(fd->second, F_DUPFD_CLOEXEC, 0); dup >= 0) t.pidfds.emplace_back(pid, dup);
    return t;
}

void SignalActuator::resume_all() {
    for (auto& [job, pids] : stopped_)
        for (pid_t pid : pids) send(pid, SIGCONT);
    stopped_.clear();
}

}  // namespace swamp
