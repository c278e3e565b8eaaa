// The watchdog: a small process that outlives a SIGKILLed controller and
// resumes what it had stopped.
//
// At start the controller forks it (in its own session, so a signal to the
// build's process group does not reach it) and keeps the write end of a pipe.
// WatchedActuator reports every stop and resume through that pipe; the
// watchdog holds a pidfd for each stopped process. When the pipe reaches EOF
// without a final "all clear" — the controller died, however — it sends
// SIGCONT to every process it holds, thaws and removes our job cgroups, and
// exits. EOF arrives the moment the controller's last fd closes, so this takes
// milliseconds, not seconds.
#pragma once

#include <memory>
#include <string>

#include "actuator/actuator.hpp"

namespace swamp {

// Wraps an actuator; every stop/resume it makes is mirrored to the watchdog.
class WatchedActuator final : public Actuator {
public:
    // Forks the watchdog; throws UserError if it cannot.
    explicit WatchedActuator(std::unique_ptr<Actuator> inner);
    ~WatchedActuator() override;

    const char* name() const override { return inner_->name(); }
    bool on_join(uint64_t job, pid_t pid, bool job_stopped) override;
    void on_exit(pid_t pid) override { inner_->on_exit(pid); }
    void on_job_end(uint64_t job) override;
    bool stop(uint64_t job, const std::vector<pid_t>& pids, std::string& error) override;
    bool resume(uint64_t job, const std::vector<pid_t>& pids, std::string& error) override;
    void resume_all() override;
    std::string cgroup_dir() const override { return inner_->cgroup_dir(); }

    pid_t watchdog_pid() const { return watchdog_; }

private:
    void tell(const std::string& line);

    std::unique_ptr<Actuator> inner_;
    pid_t watchdog_ = -1;
    int pipe_ = -1;
};

// The watchdog's own main loop (in the forked child): reads commands from
// `fd` until EOF, then resumes what is still held. Exposed for tests.
void watchdog_main(int fd);

}  // namespace swamp
