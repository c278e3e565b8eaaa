// The build model: processes of the tree and the jobs they form.
//
// A job is one build command: the subtree under a build driver (make, ninja,
// …) whose root is, e.g., `gcc …` or `sh -c "gcc …"`. Drivers are never part
// of a job. A process that execs a driver turns the path from it up to its
// job's root into drivers too (sh -c "make -C sub", emerge -> ebuild.sh -> make),
// and that job dissolves into the jobs of the new driver's children.
// Fed with kernel events; pure (no system calls, time is an input).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "source/event.hpp"
#include "tree/drivers.hpp"

namespace swamp {

enum class JobState { Running, Stopped, Held };  // Held: stopped at exec, before it grew
const char* job_state_name(JobState s);

struct Process {
    uint32_t pid = 0;
    uint32_t ppid = 0;
    std::string comm;
    std::string command;  // argv, joined, for display
    uint64_t rss = 0;     // bytes, from the last RSS event
    uint64_t swap = 0;    // bytes swapped out, from the same event
    double maj_per_s = 0;
    uint64_t faults_ns = 0;  // when the fault rate was sampled
    bool driver = false;
    bool execd = false;  // runs its own program: exec seen, or found running by a /proc walk
    uint64_t job = 0;    // 0: not in a job (a driver, or outside any build)
    uint64_t seen_ns = 0;  // when an event or the /proc walk first showed it
    std::string package;   // the emerge package it builds ("dev-libs/foo-1.0"), from its parent or set_package()
};

struct Job {
    uint64_t id = 0;
    uint32_t root_pid = 0;
    std::string name;     // the command it runs: root's comm, or the first program a wrapper shell runs
    std::string command;  // the matching argv
    std::string package;  // the emerge package it belongs to, "" if none
    std::set<uint32_t> pids;  // live processes
    uint64_t rss = 0;         // sum of its processes' RSS
    uint64_t swap = 0;        // sum of their swapped-out memory: it comes back when the job runs
    uint64_t peak = 0;
    double growth = 0;     // bytes/s, smoothed; <0 when shrinking
    double maj_per_s = 0;  // major faults per second of all its processes
    JobState state = JobState::Running;
    uint64_t start_ns = 0;
    uint64_t state_since_ns = 0;
    uint64_t rss_changed_ns = 0;
    uint32_t stops = 0;
    bool is_protected = false;  // holds a process the actuator may never stop: the job is never stopped
    bool execd = false;         // its root runs its own program (until then it is the driver's fork)
    // From history at exec (0: unknown, the policy is reactive for this job).
    uint64_t predicted_peak = 0;  // bytes, conservative (with margin)
    double predicted_s = 0;       // how long it ran before
    double predicted_peak_s = 0;  // when (in running time) it reached its peak before
    int predicted_runs = 0;       // how many past runs the prediction rests on
    bool predicted_at_least = false;  // its past runs were all killed: predicted_peak is a lower bound
    uint64_t waited_ns = 0;       // time spent stopped or held, up to its last resume
    uint64_t peak_run_ns = 0;     // running time when `peak` was reached
    // Time it has run since it started, not counting stops and holds.
    uint64_t run_ns(uint64_t now_ns) const {
        uint64_t waiting = state == JobState::Running || now_ns < state_since_ns ? 0 : now_ns - state_since_ns;
        uint64_t elapsed = now_ns > start_ns ? now_ns - start_ns : 0;
        return elapsed > waited_ns + waiting ? elapsed - waited_ns - waiting : 0;
    }
};

// What one event changed, for the actuator and the trace.
struct TreeDelta {
    std::vector<std::pair<uint64_t, uint32_t>> joined;  // (job, pid): a process joined a job
    std::vector<uint32_t> exited;                       // pids gone
    std::vector<uint64_t> new_jobs;
    std::vector<uint64_t> started_jobs;    // their root runs its own program now (exec'd, or found running)
    std::vector<uint64_t> ended_jobs;      // last process exited
    std::vector<Job> ended;                // those jobs as they were at the end (peak, start, prediction)
    std::vector<uint64_t> dissolved_jobs;  // turned into drivers (were wrappers)
};

struct TreeConfig {
    std::vector<std::string> drivers = kDefaultDrivers;
    std::vector<std::string> shells{"sh", "bash", "dash", "zsh", "ash", "busybox"};
    double growth_tau_s = 0.5;    // smoothing of the growth rate
    double fault_stale_s = 1.0;   // a fault sample older than this counts as 0
    double growth_stale_s = 1.0;  // no RSS change this long: growth is 0
};

// What a job makes, as a base name: the file after -o (or --out, --output) of
// its command, else its last operand; "" when there is none.
std::string job_target(const std::string& command);
// A job's short name: its program and what it makes ("g++ main.o"), or the program alone.
std::string job_label(const std::string& name, const std::string& command);
// "CATEGORY/PF" (an emerge build's package, from its environment: hostile input) when both
// look like Gentoo's names (letters, digits, "+_.-", at most 64 bytes each), else "".
std::string package_name(std::string_view category, std::string_view pf);

class Tree {
public:
    explicit Tree(TreeConfig cfg = {});

    // The process we launched or were given: always a driver, never stopped.
    void add_root(uint32_t pid, uint32_t ppid, const std::string& comm, uint64_t now_ns);
    // A process found by the start-up /proc walk (parents first).
    TreeDelta seed(uint32_t pid, uint32_t ppid, const std::string& comm, const std::string& command, uint64_t now_ns);
    TreeDelta apply(const Event& e);
    // Age the rates: stale fault samples and flat RSS count as 0.
    void tick(uint64_t now_ns);
    void set_state(uint64_t job, JobState s, uint64_t now_ns);
    void set_protected(uint64_t job);
    void set_prediction(uint64_t job, uint64_t peak, double secs, double peak_at_s, int runs, bool at_least = false);
    // The package `pid` builds (package_name()): its children, and the jobs they form, inherit it.
    void set_package(uint32_t pid, const std::string& package);

    const std::map<uint64_t, Job>& jobs() const { return jobs_; }
    const Job* job(uint64_t id) const;
    const Process* process(uint32_t pid) const;
    std::vector<uint32_t> job_pids(uint64_t id) const;
    std::vector<uint32_t> pids() const;  // every tracked process
    uint64_t total_rss() const;  // every tracked process, drivers included
    uint64_t jobs_ended() const { return jobs_ended_; }
    // Seconds jobs spent in `s` (Stopped or Held) since the start, ended jobs and ongoing waits
    // included. Never less than it returned before (a counter): an exit event may close a wait
    // at its own, earlier time than an ongoing wait was counted up to.
    double seconds_in(JobState s, uint64_t now_ns) const;
    bool is_driver_name(const std::string& comm) const;

private:
    Process& add_process(uint32_t pid, uint32_t ppid, const std::string& comm, uint64_t now_ns, TreeDelta& d);
    void assign(Process& p, uint64_t now_ns, TreeDelta& d);
    void place(Process& p, uint64_t now_ns, TreeDelta& d);
    void name_job(const Process& p);
    bool is_worker(const Process& p) const;
    void become_driver(Process& p, uint64_t now_ns, TreeDelta& d);
    void remove_process(uint32_t pid, uint64_t now_ns, TreeDelta& d);
    void update_rss(Job& j, uint64_t now_ns);
    void end_wait(const Job& j, uint64_t now_ns);  // a wait of `j` is over: counted in waited_ns_
    bool is_shell(const std::string& comm) const;

    TreeConfig cfg_;
    std::unordered_map<uint32_t, Process> procs_;
    std::map<uint64_t, Job> jobs_;
    uint64_t next_job_ = 1;
    uint64_t jobs_ended_ = 0;
    uint64_t waited_ns_[2] = {0, 0};  // ended waits: stopped, held
    mutable uint64_t reported_ns_[2] = {0, 0};  // what seconds_in() returned last
};

}  // namespace swamp
