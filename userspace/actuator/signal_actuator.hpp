// SignalActuator: SIGSTOP / SIGCONT through pidfds, so a reused pid is never
// signalled. One pidfd per vetted process, opened at on_join and closed at
// on_exit; a process without one (protected, gone, or unheld: out of file
// descriptors) is never signalled. It resumes only what it stopped: a process
// already stopped by someone else (kill -STOP, a debugger) is neither stopped
// nor resumed by it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "actuator/actuator.hpp"

namespace swamp {

class SignalActuator final : public Actuator {
public:
    explicit SignalActuator(Vetter vetter);
    ~SignalActuator() override;
    SignalActuator(const SignalActuator&) = delete;
    SignalActuator& operator=(const SignalActuator&) = delete;

    const char* name() const override { return "signal"; }
    Vetted on_join(uint64_t job, pid_t pid, bool job_stopped, uint64_t seen_ns) override;
    void on_exit(pid_t pid) override;
    void on_job_end(uint64_t job) override;
    bool stop(uint64_t job, const std::vector<pid_t>& pids, std::string& error) override;
    bool resume(uint64_t job, const std::vector<pid_t>& pids, std::string& error) override;
    void resume_all() override;
    void restop() override;
    // Duplicates of the pidfds of the job's stopped processes.
    PageOutTarget page_out_target(uint64_t job) override;

    // Jobs currently stopped, with the pids we sent SIGSTOP to (for tests and status).
    const std::map<uint64_t, std::set<pid_t>>& stopped() const { return stopped_; }

private:
    // 0 on success, when the process is gone, or when we hold no pidfd for it
    // (never vetted); otherwise an errno.
    int send(pid_t pid, int sig);

    Vetter vetter_;
    uint64_t fd_limit_;  // RLIMIT_NOFILE when made
    std::map<pid_t, int> pidfds_;
    std::map<uint64_t, std::set<pid_t>> stopped_;
};

}  // namespace swamp
