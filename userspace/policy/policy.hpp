// The pipelining policy: which jobs run, which wait. Pure: its inputs are the
// build model, the memory view and the time; its output is actions, each with
// a reason and its rule. No system calls, no clock. See the docs/policy.md, "What the policy does".
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "memory/memory.hpp"
#include "tree/tree.hpp"

namespace swamp {

struct PolicyConfig {
    double horizon_s = 4.0;          // project growth this far ahead (2 s let real g++ jobs strand too much)
    uint64_t low_watermark = 0;      // stop when projected headroom falls below (0: max(64M, 4% of scale))
    uint64_t high_watermark = 0;     // resume when headroom stays above (0: 3 × low)
    double settle_s = 0.5;           // headroom must stay above high this long; also the gap between resumes
    double min_run_s = 3.0;          // a resumed job runs this long before it may be stopped again
    int max_stops_per_min = 4;       // per job, except when memory is critical
    double min_growth = 1 << 20;     // bytes/s: slower jobs are not stopped for projected growth
    double thrash_majflt_per_s = 2000;  // major faults/s in the tree that count as pressure
    double psi_full_pct = 10;        // PSI memory "full" avg10 that counts as pressure
    double growth_reserve = 1.0;     // a growing job may grow by this × its RSS yet (see Context::further())
    double deadlock_s = 5.0;         // all running jobs blocked this long: resume one
    double livelock_s = 5.0;         // running jobs crawl in full memory this long: break it (Context::break_livelock())
    double crawl_majflt_per_s = 20;  // major faults/s of the running jobs that, with little CPU, mean a crawl
    // false: the event source counts no major faults (the no-BTF variant); a crawl is
    // then little CPU in full memory while no running job grows
    bool faults_counted = true;
    double cpus = 0;                 // CPUs the build can use (0: unknown, CPU is not a limit)
    uint64_t rss_step = 16 << 20;    // RSS is reported in steps this large: a job may hold this much more than it shows
};

// Manual caps, changeable while running.
struct Caps {
    int max_running = 0;  // 0: no cap
    bool pause = false;   // stop every job
    bool drain = false;   // finish what runs, start and resume nothing
};

enum class ActionType { Stop, Hold, Resume };
const char* action_name(ActionType a);

// The rule of the policy that made an action (docs/policy.md, "The rules").
// Code tells actions apart by it, never by their reason's prose.
enum class Rule {
    RunNow,          // the user said to run it
    Pause,           // the user paused the build
    Drain,           // the build drains: new jobs wait
    Cap,             // --max-running: held at exec, or stopped
    HoldMemory,      // held at exec: it would not fit (predictions, projection, typical peak)
    HoldPressure,    // held at exec: memory pressure
    HoldCpu,         // held at exec: the CPUs are busy
    BudgetEnd,       // a job on a budget stopped before it held more
    StopProjection,  // stopped: projected headroom below the low mark
    StopPeaks,       // stopped: predicted peaks would meet
    StopPressure,    // stopped: memory pressure RSS does not show
    Livelock,        // the running jobs crawl in full memory: stop, or run a stopped job alone
    OneRuns,         // no job runs: the most invested resumes
    Deadlock,        // every running job is blocked: a waiting job resumes
    Resume,          // headroom stayed above the resume mark: room for it
    RunOnBudget,     // resumed on a budget while it is small
};
// A stable short name: "hold_cpu", "deadlock", ...
const char* rule_name(Rule r);
// The rule named `name`; nullopt for a name this version does not know.
std::optional<Rule> rule_from_name(const std::string& name);

struct Action {
    ActionType type;
    uint64_t job;
    std::string reason;
    Rule rule;
};

// How many actions of each kind a run carried out.
struct ActionCounts {
    uint64_t stops = 0, holds = 0, resumes = 0, deadlock_resumes = 0;
    void count(const Action& a);
};

// The state a job is in once `a` is carried out.
inline JobState state_after(ActionType a) {
    return a == ActionType::Resume ? JobState::Running : a == ActionType::Hold ? JobState::Held : JobState::Stopped;
}

class Policy {
public:
    explicit Policy(PolicyConfig cfg = {}, Caps caps = {});

    // `blocked`: running jobs the controller saw make no progress for at
    // least deadlock_s. `cpu_use`: CPUs each running job used lately (a
    // running job not in it counts as one). Call after every batch of events
    // and on the timer.
    std::vector<Action> decide(const Tree& tree, const MemoryView& mem, uint64_t now_ns,
                               const std::set<uint64_t>& blocked = {},
                               const std::map<uint64_t, double>& cpu_use = {});

    void set_caps(const Caps& c) { caps_ = c; }
    // The event source turned out to count no major faults (see PolicyConfig::faults_counted).
    void set_faults_counted(bool counted) { cfg_.faults_counted = counted; }
    // The user said "run this job now" (`ctl run`, `top`): until it ends, the
    // job is never stopped or held, a waiting one resumes at the next
    // decision, and it counts as running against memory and the caps.
    void run_now(uint64_t job) { run_now_.insert(job); }
    const std::set<uint64_t>& run_now_jobs() const { return run_now_; }
    const Caps& caps() const { return caps_; }
    const PolicyConfig& config() const { return cfg_; }
    uint64_t low_watermark(const MemoryView& mem) const;
    uint64_t high_watermark(const MemoryView& mem) const;
    // True while something may change with time alone (settling, timers):
    // the controller keeps its timer armed.
    bool wants_timer(const Tree& tree) const;

private:
    struct Context;  // one decide() call: what its rules share (policy.cpp)
    void forget_ended(const Tree& tree);

    struct StopRecord {
        uint64_t jobs_ended_at_stop = 0;
        std::vector<uint64_t> stop_times;  // for the per-minute bound
        uint64_t resumed_ns = 0;
        bool resumed_by_guard = false;
        double growth_at_stop = 0;  // bytes/s when it was stopped
        double reserved_at_resume = 0;  // the room it was resumed for, in `planned`'s terms
        uint64_t rss_at_resume = 0;
    };

    PolicyConfig cfg_;
    Caps caps_;
    std::set<uint64_t> seen_;                 // jobs already judged at exec (a job is judged once its root exec'd)
    std::map<uint64_t, StopRecord> records_;  // per job
    std::optional<uint64_t> above_high_since_;    // headroom and projection above the high mark since
    std::optional<uint64_t> headroom_high_since_;  // headroom above the high mark since
    uint64_t ended_seen_ = 0;     // tree.jobs_ended() at the last decision
    uint64_t finish_credits_ = 0;  // jobs finished while others waited, not yet spent on a resume
    uint64_t last_resume_ns_ = 0;
    uint64_t last_pressure_stop_ns_ = 0;
    std::map<uint64_t, uint64_t> live_peaks_;  // per job that runs or waits
    std::deque<uint64_t> ended_peaks_;         // of the jobs that ended last, oldest first
    uint64_t typical_peak() const;             // what a job of this build reaches (see Context::evidence_left())
    std::set<uint64_t> held_for_cpu_;   // held at exec only because the CPUs were busy
    // Jobs with a prediction that run on a budget: their predicted peak does
    // not fit beside the others', so each runs only while what it holds fits
    // beside them, and stops (once) before it holds more (see Context::may_run_on_budget()).
    std::set<uint64_t> on_budget_;
    // Livelock: since when the running jobs crawl; the jobs that crawled
    // alone since a job last ended.
    std::optional<uint64_t> crawl_since_;
    std::set<uint64_t> tried_;
    std::set<uint64_t> run_now_;        // run_now(): the user's, until the job ends
};

}  // namespace swamp
