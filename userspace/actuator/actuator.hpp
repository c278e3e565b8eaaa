// Actuators carry out the policy's stop and resume decisions on whole jobs.
// All signalling and cgroup writes live here (and in sys/); nothing else in
// swamp-bpf touches a build process.
//
// Every implementation remembers what it stopped, so resume_all() can undo
// it on every exit path, and its destructor calls resume_all().
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actuator/vetting.hpp"

namespace swamp {

enum class ActionKind { Signal, Freeze, DryRun };

class Actuator {
public:
    virtual ~Actuator() = default;
    virtual const char* name() const = 0;

    // `pid` joined job `job`; `seen_ns` is the CLOCK_MONOTONIC time of the
    // event that showed it (fork, exec or the start-up /proc walk). The process
    // is vetted first (actuator/vetting.hpp): a reused pid or a protected
    // process is never held. Signal: opens a pidfd for it. Freeze: for the
    // job's first process, creates the job's cgroup and moves the process there
    // (before it allocates); later ones inherit it. If the job is stopped, the
    // new process is stopped too. Called again when a member execs: a process
    // that turns into a protected one leaves the job's hold.
    virtual Vetted on_join(uint64_t job, pid_t pid, bool job_stopped, uint64_t seen_ns) = 0;
    // `pid` exited: drop what we held for it.
    virtual void on_exit(pid_t pid) = 0;
    // The job's last process exited: remove its cgroup, forget it.
    virtual void on_job_end(uint64_t job) = 0;

    // Stop / resume every process of the job. Returns false (with `error`)
    // when it could not; a job never stays half stopped.
    virtual bool stop(uint64_t job, const std::vector<pid_t>& pids, std::string& error) = 0;
    virtual bool resume(uint64_t job, const std::vector<pid_t>& pids, std::string& error) = 0;

    // Resume everything this actuator ever stopped and still holds. Safe to
    // call more than once, from any exit path.
    virtual void resume_all() = 0;

    // The cgroup directory holding our job cgroups ("" when none).
    virtual std::string cgroup_dir() const { return ""; }
};

class Watchdog;

struct ActuatorOptions {
    ActionKind kind = ActionKind::Signal;
    pid_t build_root = 0;  // freeze: job cgroups go under this process's cgroup v2
    std::vector<std::string> protect = kDefaultProtect;  // comm names never stopped
    Watchdog* watchdog = nullptr;  // mirrors every stop (signal and freeze)
};

// Throws UserError(Cgroup) when freeze mode cannot work here. Signal and
// freeze actuators come wrapped in a WatchedActuator (actuator/watchdog.hpp)
// when a watchdog is given.
std::unique_ptr<Actuator> make_actuator(const ActuatorOptions& o);

}  // namespace swamp
