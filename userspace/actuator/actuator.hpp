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
#include <utility>
#include <vector>

#include "actuator/vetting.hpp"
#include "sys/host_features.hpp"
#include "trace/page_out_report.hpp"

namespace swamp {

enum class ActionKind { Signal, Freeze, DryRun };

// Page-out of stopped jobs (actuator/page_out.hpp). Auto: only while swap or
// zswap exists.
enum class PageOutMode { Auto, On, Off };
struct PageOutConfig {
    PageOutMode mode = PageOutMode::Off;
    double delay_s = 1.0;  // a job must stay stopped this long first
};

// What page-out may touch of a stopped job: its processes, each with its own
// duplicate of our pidfd (the receiver closes them), and in freeze mode its
// cgroup v2 directory.
struct PageOutTarget {
    std::vector<std::pair<pid_t, int>> pidfds;
    std::string cgroup;
};

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
    // `pid` is not tracked (the task map was full): it is in no job, so it must not be
    // stopped with one; freeze mode takes it out of a job cgroup it inherited at fork.
    virtual void on_untracked(pid_t /*pid*/) {}
    // The job's last process exited: remove its cgroup, forget it.
    virtual void on_job_end(uint64_t job) = 0;

    // Stop / resume every process of the job. Returns false (with `error`)
    // when it could not; a job never stays half stopped.
    virtual bool stop(uint64_t job, const std::vector<pid_t>& pids, std::string& error) = 0;
    virtual bool resume(uint64_t job, const std::vector<pid_t>& pids, std::string& error) = 0;

    // Resume everything this actuator ever stopped and still holds. Safe to
    // call more than once, from any exit path.
    virtual void resume_all() = 0;
    // Stop again what this actuator holds stopped: after a SIGCONT from
    // someone else (the shell's `fg` or `bg` continues the whole process
    // group) ran it. Freeze needs nothing: a frozen cgroup ignores SIGCONT.
    virtual void restop() {}

    // The cgroup directory holding our job cgroups ("" when none).
    virtual std::string cgroup_dir() const { return ""; }
    // True once a process of the job could not be held (out of file
    // descriptors) when the job was stopped: the job must never be stopped.
    virtual bool unheld(uint64_t /*job*/) const { return false; }

    // Page-out (actuator/page_out.hpp). What of a stopped job may be paged
    // out: empty when nothing (not stopped, dry-run).
    virtual PageOutTarget page_out_target(uint64_t /*job*/) { return {}; }
    // Page-outs finished since the last call, for the trace; and the totals so far.
    virtual std::vector<PageOutReport> take_page_out_reports() { return {}; }
    struct PageOutTotals {
        uint64_t bytes = 0, jobs = 0;
    };
    virtual PageOutTotals page_out_totals() const { return {}; }
};

// Base of an actuator that wraps another (the watchdog's mirror, page-out):
// forwards every call; a subclass overrides what it adds to.
class ForwardingActuator : public Actuator {
public:
    explicit ForwardingActuator(std::unique_ptr<Actuator> inner) : inner_(std::move(inner)) {}
    const char* name() const override { return inner_->name(); }
    Vetted on_join(uint64_t job, pid_t pid, bool job_stopped, uint64_t seen_ns) override {
        return inner_->on_join(job, pid, job_stopped, seen_ns);
    }
    void on_exit(pid_t pid) override { inner_->on_exit(pid); }
    void on_untracked(pid_t pid) override { inner_->on_untracked(pid); }
    void on_job_end(uint64_t job) override { inner_->on_job_end(job); }
    bool stop(uint64_t job, const std::vector<pid_t>& pids, std::string& error) override {
        return inner_->stop(job, pids, error);
    }
    bool resume(uint64_t job, const std::vector<pid_t>& pids, std::string& error) override {
        return inner_->resume(job, pids, error);
    }
    void resume_all() override { inner_->resume_all(); }
    void restop() override { inner_->restop(); }
    std::string cgroup_dir() const override { return inner_->cgroup_dir(); }
    bool unheld(uint64_t job) const override { return inner_->unheld(job); }
    PageOutTarget page_out_target(uint64_t job) override { return inner_->page_out_target(job); }
    std::vector<PageOutReport> take_page_out_reports() override { return inner_->take_page_out_reports(); }
    PageOutTotals page_out_totals() const override { return inner_->page_out_totals(); }

protected:
    std::unique_ptr<Actuator> inner_;
};

class Watchdog;

struct ActuatorOptions {
    ActionKind kind = ActionKind::Signal;
    pid_t build_root = 0;  // freeze: job cgroups go under this process's cgroup v2
    std::vector<std::string> protect = kDefaultProtect;  // comm names never stopped
    Watchdog* watchdog = nullptr;  // mirrors every stop (signal and freeze)
    PageOutConfig page_out;        // not for dry-run
    HostFeatures host;             // freeze: the probed cgroup2 mount, and where /proc is
};

// Throws UserError(Cgroup) when freeze mode cannot work here. Signal and
// freeze actuators come wrapped in a WatchedActuator (actuator/watchdog.hpp)
// when a watchdog is given.
std::unique_ptr<Actuator> make_actuator(const ActuatorOptions& o);

}  // namespace swamp
