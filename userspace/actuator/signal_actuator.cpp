#include "actuator/signal_actuator.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace swamp {

namespace {

int sys_pidfd_open(pid_t pid) { return int(::syscall(SYS_pidfd_open, pid, 0)); }

int sys_pidfd_send_signal(int pidfd, int sig) {
    return int(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

}  // namespace

bool is_protected_pid(pid_t pid) { return pid <= 1 || pid == ::getpid() || pid == ::getppid(); }

SignalActuator::~SignalActuator() {
    try {
        resume_all();
    } catch (...) {
    }
    for (auto& [pid, fd] : pidfds_) ::close(fd);
}

int SignalActuator::pidfd_for(pid_t pid) {
    auto it = pidfds_.find(pid);
    if (it != pidfds_.end()) return it->second;
    int fd = sys_pidfd_open(pid);
    if (fd < 0) return -errno;
    pidfds_[pid] = fd;
    return fd;
}

int SignalActuator::send(pid_t pid, int sig) {
    if (is_protected_pid(pid)) return EPERM;
    int fd = pidfd_for(pid);
    if (fd == -ESRCH) return 0;  // already gone
    if (fd < 0) return -fd;
    if (sys_pidfd_send_signal(fd, sig) == 0) return 0;
    return errno == ESRCH ? 0 : errno;
}

bool SignalActuator::on_join(uint64_t job, pid_t pid, bool job_stopped) {
    if (is_protected_pid(pid)) return true;  // never tracked, so never signalled
    int fd = pidfd_for(pid);
    if (fd < 0) return false;  // ESRCH: already gone
    if (job_stopped) {
        int e = send(pid, SIGSTOP);
        if (e != 0) return false;
        stopped_[job].insert(pid);
    }
    return true;
}

void SignalActuator::on_exit(pid_t pid) {
    auto it = pidfds_.find(pid);
    if (it != pidfds_.end()) {
        ::close(it->second);
        pidfds_.erase(it);
    }
    for (auto& [job, pids] : stopped_) pids.erase(pid);
}

void SignalActuator::on_job_end(uint64_t job) { stopped_.erase(job); }

bool SignalActuator::stop(uint64_t job, const std::vector<pid_t>& pids, std::string& error) {
    for (pid_t pid : pids) {
        if (is_protected_pid(pid)) {
            error = "refusing to stop pid " + std::to_string(pid) + " (init, swamp-bpf or its parent)";
            return false;
        }
    }
    std::vector<pid_t> done;
    for (pid_t pid : pids) {
        int e = send(pid, SIGSTOP);
        if (e != 0) {
            for (pid_t d : done) send(d, SIGCONT);  // never leave the job half stopped
            error = "SIGSTOP to pid " + std::to_string(pid) + ": " + std::strerror(e);
            return false;
        }
        done.push_back(pid);
    }
    auto& set = stopped_[job];
    set.insert(done.begin(), done.end());
    return true;
}

bool SignalActuator::resume(uint64_t job, const std::vector<pid_t>& pids, std::string& error) {
    std::set<pid_t> all(pids.begin(), pids.end());
    if (auto it = stopped_.find(job); it != stopped_.end()) all.insert(it->second.begin(), it->second.end());
    std::set<pid_t> failed;  // kept, so resume_all() tries them again
    for (pid_t pid : all) {
        if (is_protected_pid(pid)) continue;
        int e = send(pid, SIGCONT);
        if (e != 0) {
            if (failed.empty()) error = "SIGCONT to pid " + std::to_string(pid) + ": " + std::strerror(e);
            failed.insert(pid);
        }
    }
    if (failed.empty())
        stopped_.erase(job);
    else
        stopped_[job] = std::move(failed);
    return stopped_.count(job) == 0;
}

void SignalActuator::resume_all() {
    for (auto& [job, pids] : stopped_)
        for (pid_t pid : pids) send(pid, SIGCONT);
    stopped_.clear();
}

}  // namespace swamp
