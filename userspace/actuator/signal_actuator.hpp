// SignalActuator: SIGSTOP / SIGCONT through pidfds, so a reused pid is never
// signalled. One pidfd per process, opened at on_join and closed at on_exit.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "actuator/actuator.hpp"

namespace swamp {

// Processes no actuator may ever stop or move: pid <= 1, ourselves, our parent.
bool is_protected_pid(pid_t pid);

class SignalActuator final : public Actuator {
public:
    SignalActuator() = default;
    ~SignalActuator() override;
    SignalActuator(const SignalActuator&) = delete;
    SignalActuator& operator=(const SignalActuator&) = delete;

    const char* name() const override { return "signal"; }
    bool on_join(uint64_t job, pid_t pid, bool job_stopped) override;
    void on_exit(pid_t pid) override;
    void on_job_end(uint64_t job) override;
    bool stop(uint64_t job, const std::vector<pid_t>& pids, std::string& error) override;
    bool resume(uint64_t job, const std::vector<pid_t>& pids, std::string& error) override;
    void resume_all() override;

    // Jobs currently stopped, with the pids we sent SIGSTOP to (for tests and status).
    const std::map<uint64_t, std::set<pid_t>>& stopped() const { return stopped_; }

private:
    // 0 on success or when the process is gone (ESRCH); otherwise an errno.
    int send(pid_t pid, int sig);
    int pidfd_for(pid_t pid);

    std::map<pid_t, int> pidfds_;
    std::map<uint64_t, std::set<pid_t>> stopped_;
};

}  // namespace swamp
