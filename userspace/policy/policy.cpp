#include "policy/policy.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace swamp {

const char* action_name(ActionType a) {
    switch (a) {
    case ActionType::Stop: return "stop";
    case ActionType::Hold: return "hold";
    case ActionType::Resume: return "resume";
    }
    return "?";
}

namespace {
// The short names are in traces and docs/policy.md: keep them.
constexpr std::pair<Rule, const char*> kRuleNames[] = {
    {Rule::RunNow, "run_now"},
    {Rule::Pause, "pause"},
    {Rule::Drain, "drain"},
    {Rule::Cap, "cap"},
    {Rule::HoldMemory, "hold_memory"},
    {Rule::HoldPressure, "hold_pressure"},
    {Rule::HoldCpu, "hold_cpu"},
    {Rule::BudgetEnd, "budget_end"},
    {Rule::StopProjection, "stop_projection"},
    {Rule::StopPeaks, "stop_peaks"},
    {Rule::StopPressure, "stop_pressure"},
    {Rule::Livelock, "livelock"},
    {Rule::OneRuns, "one_runs"},
    {Rule::Deadlock, "deadlock"},
    {Rule::Resume, "resume"},
    {Rule::RunOnBudget, "run_on_budget"},
};
}  // namespace

const char* rule_name(Rule r) {
    for (const auto& [rule, name] : kRuleNames)
        if (rule == r) return name;
    return "?";
}

std::optional<Rule> rule_from_name(const std::string& name) {
    for (const auto& [rule, n] : kRuleNames)
        if (name == n) return rule;
    return std::nullopt;
}

void ActionCounts::count(const Action& a) {
    switch (a.type) {
    case ActionType::Stop: stops++; break;
    case ActionType::Hold: holds++; break;
    case ActionType::Resume:
        resumes++;
        if (a.rule == Rule::Deadlock) deadlock_resumes++;
        break;
    }
}

namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr size_t kPeaksKept = 255;  // ended jobs whose peaks make the typical job
// A job on a budget stops when its budget is less than this much of its
// growth and one RSS step: a stop takes milliseconds, so this covers its
// latency and the step it may not have reported yet many times over.
constexpr double kBudgetLeadS = 1.0;

std::string mib(double bytes) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.0fM", bytes / kMiB);
    return buf;
}

double secs(uint64_t from_ns, uint64_t to_ns) { return to_ns > from_ns ? (to_ns - from_ns) / 1e9 : 0.0; }

// More invested first: larger RSS, then older, then lower id.
bool more_invested(const Job* a, const Job* b) {
    if (a->rss != b->rss) return a->rss > b->rss;
    if (a->start_ns != b->start_ns) return a->start_ns < b->start_ns;
    return a->id < b->id;
}

// The order waiting jobs resume in: stopped ones, most invested first; then
// those held at exec, the oldest first, where a job predicted to run s
// seconds counts as s seconds older. So of jobs that start together the
// longest goes first (it does not end up alone at the end of the build), and
// a short job is not passed over again and again by longer ones that came
// after it: the driver started it first, and the build may be waiting for it.
bool resumes_before(const Job* a, const Job* b) {
    bool a_held = a->state == JobState::Held, b_held = b->state == JobState::Held;
    if (a_held != b_held) return b_held;
    if (!a_held) return more_invested(a, b);
    double a_due = double(a->start_ns) / 1e9 - a->predicted_s, b_due = double(b->start_ns) / 1e9 - b->predicted_s;
    if (a_due != b_due) return a_due < b_due;
    if (a->start_ns != b->start_ns) return a->start_ns < b->start_ns;
    return a->id < b->id;
}

// Whether a job's history predicts its peak: known, and not outgrown.
bool has_prediction(const Job* j) {
    return j->predicted_peak && !j->predicted_at_least && j->peak <= j->predicted_peak;
}

// What a job without a prediction will reach at least: its past runs, all killed, reached this.
double at_least(const Job* j) { return j->predicted_at_least ? double(j->predicted_peak) : 0.0; }

// What a decision about `j` rested on; every reason ends with it.
std::string basis(const Job* j) {
    if (has_prediction(j))
        return " (predicted peak " + mib(double(j->predicted_peak)) + " from " + std::to_string(j->predicted_runs) +
               (j->predicted_runs == 1 ? " run)" : " runs)");
    if (j->predicted_at_least)
        return " (no prediction: its past runs were killed at up to " + mib(double(j->predicted_peak)) + ")";
    if (j->predicted_peak) return " (outgrew its predicted peak " + mib(double(j->predicted_peak)) + ": reactive)";
    return " (no prediction)";
}

}  // namespace

Policy::Policy(PolicyConfig cfg, Caps caps) : cfg_(cfg), caps_(caps) {}

uint64_t Policy::low_watermark(const MemoryView& mem) const {
    return cfg_.low_watermark ? cfg_.low_watermark : std::max<uint64_t>(64 * kMiB, mem.scale / 25);
}

uint64_t Policy::typical_peak() const {
    if (ended_peaks_.empty()) {
        uint64_t largest = 0;
        for (const auto& [id, peak] : live_peaks_) largest = std::max(largest, peak);
        return largest;
    }
    std::vector<uint64_t> v(ended_peaks_.begin(), ended_peaks_.end());
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
}

uint64_t Policy::high_watermark(const MemoryView& mem) const {
    return cfg_.high_watermark ? cfg_.high_watermark : 3 * low_watermark(mem);
}

bool Policy::wants_timer(const Tree& tree) const {
    for (const auto& [id, j] : tree.jobs())
        if (j.state != JobState::Running) return true;
    return false;
}

// Drops what is kept of jobs that ended; their peaks join the typical peak's sample.
void Policy::forget_ended(const Tree& tree) {
    for (auto it = records_.begin(); it != records_.end();)
        it = tree.job(it->first) ? std::next(it) : records_.erase(it);
    for (auto it = seen_.begin(); it != seen_.end();) it = tree.job(*it) ? std::next(it) : seen_.erase(it);
    for (auto it = run_now_.begin(); it != run_now_.end();) it = tree.job(*it) ? std::next(it) : run_now_.erase(it);
    for (auto it = held_for_cpu_.begin(); it != held_for_cpu_.end();) {
        const Job* j = tree.job(*it);
        it = j && j->state == JobState::Held ? std::next(it) : held_for_cpu_.erase(it);
    }
    for (auto it = on_budget_.begin(); it != on_budget_.end();) {
        const Job* j = tree.job(*it);
        it = j && j->state != JobState::Stopped ? std::next(it) : on_budget_.erase(it);
    }
    for (auto it = live_peaks_.begin(); it != live_peaks_.end();) {
        if (tree.job(it->first)) {
            ++it;
            continue;
        }
        ended_peaks_.push_back(it->second);
        if (ended_peaks_.size() > kPeaksKept) ended_peaks_.pop_front();
        it = live_peaks_.erase(it);
    }
    for (const auto& [id, j] : tree.jobs()) live_peaks_[id] = j.peak;
}

// One decide() call: its inputs, the jobs as its rules leave them, the three
// views ahead, and the actions so far. Each rule is a member function; run()
// applies them in order.
struct Policy::Context {
    Policy& p;
    const PolicyConfig& cfg;
    const Tree& tree;
    const MemoryView& mem;
    const uint64_t now;
    const std::set<uint64_t>& blocked;
    const std::map<uint64_t, double>& cpu_use;

    std::vector<Action> out;
    std::vector<const Job*> running, waiting, fresh;  // running: most invested first; waiting: in resume order
    uint64_t typical = 0;
    bool a_job_ended_now = false;
    int64_t low = 0, high = 0;
    const double lead;  // seconds: how far ahead a predicted peak counts in `reserved`
    double projected = 0, reserved = 0, planned = 0;
    bool critical = false, thrashing = false;
    std::string why_pressure;
    bool a_stopped_job_waits = false;
    const Job* head = nullptr;

    Context(Policy& policy, const Tree& t, const MemoryView& m, uint64_t now_ns, const std::set<uint64_t>& b,
            const std::map<uint64_t, double>& cpu)
        : p(policy), cfg(policy.cfg_), tree(t), mem(m), now(now_ns), blocked(b), cpu_use(cpu),
          lead(2 * policy.cfg_.horizon_s) {
        for (const auto& [id, j] : tree.jobs()) {
            if (!p.seen_.count(id) && j.execd) fresh.push_back(&j);  // judged by what it runs, once it exec'd
            (j.state == JobState::Running ? running : waiting).push_back(&j);
        }
        typical = p.typical_peak();
        std::sort(running.begin(), running.end(), more_invested);
        std::sort(waiting.begin(), waiting.end(), resumes_before);
        // each job that finishes while others wait pays for one resume
        a_job_ended_now = tree.jobs_ended() != p.ended_seen_;
        if (!waiting.empty()) p.finish_credits_ += tree.jobs_ended() - p.ended_seen_;
        else p.finish_credits_ = 0;
        p.ended_seen_ = tree.jobs_ended();

        low = p.low_watermark(mem), high = p.high_watermark(mem);
        double majflt = 0;
        for (const auto& [id, j] : tree.jobs()) majflt += j.maj_per_s;
        projected = reserved = planned = double(mem.headroom);
        for (const Job* j : running) add_to_views(j, -1);
        critical = mem.headroom < low / 2;
        thrashing = majflt >= cfg.thrash_majflt_per_s || mem.psi_full_avg10 >= cfg.psi_full_pct;
        why_pressure = majflt >= cfg.thrash_majflt_per_s
                           ? "major faults " + std::to_string(int(majflt)) + "/s in the build"
                           : "PSI memory full " + std::to_string(int(mem.psi_full_avg10)) + "%";
        a_stopped_job_waits =
            std::any_of(waiting.begin(), waiting.end(), [](const Job* w) { return w->state == JobState::Stopped; });
    }

    // The rules, in the order run() applies them.
    void run() {
        run_now();
        if (p.caps_.pause) return pause();
        hold_at_exec();
        end_budgets_that_fit();
        stop_on_budget_end();
        stop_on_projection();
        stop_for_meeting_peaks();
        stop_on_pressure();
        if (break_livelock()) return;
        stop_over_cap();
        if (waiting.empty() || p.caps_.drain) return unsettle();
        if (keep_one_running()) return;
        if (guard_deadlock()) return;
        resume_one();
    }

    // Three views ahead.
    // - `projected`, the near future, drives stops: each running job grows
    //   `horizon_s` of its growth, and while it grows at least
    //   `growth_reserve` × its RSS, however slowly it grows now (on a busy
    //   machine every job grows slowly, and a horizon of that alone sees big
    //   jobs' growth too late); never more than its prediction leaves.
    // - `reserved` plans with history: a running job with a prediction may
    //   yet grow to its predicted peak once that peak is due within `lead`
    //   seconds of its running time (before, as in `projected`). It decides
    //   whether such a job may start, and which of two predicted peaks that
    //   would meet waits.
    //   A job on a budget counts with what the budget rule allows it
    //   (budget_growth()): that rule stops it before it holds more.
    // - `planned` decides what may start or resume (plan()).
    static double left(const Job* j) { return double(j->predicted_peak - j->peak); }
    double budget_growth(const Job* j) const {
        return std::min(std::max(0.0, j->growth) * kBudgetLeadS, left(j)) + double(cfg.rss_step);
    }
    double further(const Job* j) const {
        if (p.on_budget_.count(j->id)) return budget_growth(j);
        double g = std::max(0.0, j->growth) * cfg.horizon_s;
        double near = j->growth < cfg.min_growth ? g : std::max(g, cfg.growth_reserve * double(j->rss));
        return has_prediction(j) ? std::min(near, left(j)) : near;
    }
    double peak_due_in(const Job* j) const { return j->predicted_peak_s - j->run_ns(now) / 1e9; }
    double reserve(const Job* j, double lead_s) const {
        return has_prediction(j) && peak_due_in(j) <= lead_s && !p.on_budget_.count(j->id) ? left(j) : further(j);
    }
    // `planned`: without swap a stopped job strands what it holds until it
    // runs again, so a job starts only if every running job, and it, can
    // reach its peak, whenever that comes: a job with a prediction all the
    // way to its predicted peak; one without, to the typical peak of this
    // build (the median of the jobs that ended last; before any ended, the
    // largest so far), which a compiler's flat RSS does not show. One that
    // has not run yet all the way, one that has by `growth_reserve` × its RSS
    // at most. Stops do not use it: a stop strands memory, a hold costs nothing.
    double evidence_left(const Job* j, bool has_run) const {
        if (has_prediction(j)) return std::max(0.0, double(j->predicted_peak) - double(j->rss));
        double to_typical = std::max(0.0, double(typical) - double(j->rss));
        double to_killed = std::max(0.0, at_least(j) - double(j->rss));  // its killed runs got that far
        return std::max(to_killed, has_run ? std::min(to_typical, cfg.growth_reserve * double(j->rss)) : to_typical);
    }
    // A job keeps the room it was resumed (or started) for until it has grown
    // into it: right after a resume its growth is not measured yet, and the
    // next resume must not spend that room again.
    double kept(const Job* j) const {
        auto it = p.records_.find(j->id);
        if (it == p.records_.end() || !it->second.resumed_ns) return 0.0;
        const StopRecord& r = it->second;
        return std::max(0.0, r.reserved_at_resume - std::max(0.0, double(j->rss) - double(r.rss_at_resume)));
    }
    double plan(const Job* j) const { return std::max({reserve(j, lead), evidence_left(j, true), kept(j)}); }
    // A running job's share of the three views.
    void add_to_views(const Job* j, double sign) {
        projected += sign * further(j);
        reserved += sign * reserve(j, lead);
        planned += sign * plan(j);
    }

    // CPU is a resource of the pipeline too: a job beyond what the CPUs can
    // run only waits for a CPU, and adds memory. While the running jobs use
    // all CPUs but half of one, a job that is not yet running waits, however
    // plentiful memory looks: it would gain nothing but memory that a later
    // stop strands (or, with a prediction, that a longer job could have had),
    // and CPU time taken from the jobs whose ends the build waits for.
    // A job wants a CPU as far as it uses its fair share of them (jobs that
    // share too few CPUs each get less than one): one using its share counts
    // as one; one waiting on I/O or on a remote compiler, as what it uses;
    // one not measured yet, as one.
    double cpus_used(const Job* except) const {
        const double fair = running.empty() ? 1.0 : std::min(1.0, cfg.cpus / double(running.size()));
        double used = 0;
        for (const Job* r : running)
            if (r != except) {
                auto it = cpu_use.find(r->id);
                used += it == cpu_use.end() ? 1.0 : std::min(1.0, it->second / fair);
            }
        return used;
    }
    bool cpus_full(const Job* except) const { return cfg.cpus > 0 && cpus_used(except) > cfg.cpus - 0.5; }
    std::string cpu_note(const Job* except) const {
        char buf[96];
        snprintf(buf, sizeof buf, "%.1f of %g CPUs wanted", cpus_used(except), cfg.cpus);
        return buf;
    }
    // What a stopped job may grow by once it runs again, as the stop rule
    // projects it: a horizon of the growth it had, or, if it grew at all,
    // its RSS once more (resuming it for less would stop it again at once).
    double regrowth(const Job* j) const {
        auto it = p.records_.find(j->id);
        double g = it == p.records_.end() ? 0.0 : it->second.growth_at_stop;
        double near = g * cfg.horizon_s;
        return g < cfg.min_growth ? near : std::max(near, cfg.growth_reserve * double(j->rss));
    }
    // What a job that waits, or just started, needs in `planned`'s terms;
    // what `planned` leaves once it runs.
    double need(const Job* j) const {
        bool has_run = j->state == JobState::Stopped;
        double n = has_prediction(j) ? std::max(evidence_left(j, has_run), 16.0 * kMiB)
                   : has_run         ? std::max(evidence_left(j, true), regrowth(j))
                                     : evidence_left(j, false);
        return n + double(j->swap);
    }
    bool runs(const Job* j) const { return std::find(running.begin(), running.end(), j) != running.end(); }
    double left_with(const Job* j) const { return planned + (runs(j) ? plan(j) : 0.0) - need(j); }
    // A job with a prediction starts only if it leaves the low mark and an
    // RSS step on top: RSS is reported in steps, so the running jobs hold a
    // little more than they show, and a start that left just the low mark
    // was stopped again by the next step.
    bool fits_by_prediction(const Job* j) const { return left_with(j) >= double(low) + double(cfg.rss_step); }
    // A budget: what a job with a prediction may yet grow by while every
    // other running job (but one on a budget, whose growth its own budget
    // bounds) can still reach its peak, above the low mark.
    double budget(const Job* j) const {
        double room = double(mem.headroom) - double(low);
        for (const Job* r : running)
            if (r != j && !p.on_budget_.count(r->id)) room -= plan(r);
        return room;
    }
    // Run on a budget: a job with a prediction whose peak does not fit may
    // still run while it is small (most compilers and linkers grow late), if
    // - it has never run (one stop per job at most),
    // - no job is stopped and none runs on a budget: one stranding job at a
    //   time, so the running jobs, then it, can always finish;
    // - every other running job has a prediction: the budget is what their
    //   peaks leave, which a guess at an unknown job's peak cannot bound;
    // - a whole CPU is free for it, else it only slows the jobs whose ends it
    //   waits for;
    // - its budget is more than stop_on_budget_end() would stop it at.
    // When its budget runs out it stops, holding no more than the others
    // leave, and resumes once its whole peak fits.
    bool may_run_on_budget(const Job* j) const {
        if (!has_prediction(j) || j->state == JobState::Stopped || !p.on_budget_.empty() || a_stopped_job_waits)
            return false;
        if (!(cfg.cpus > 0 && cpus_used(j) <= cfg.cpus - 1)) return false;  // a whole CPU is free for it
        for (const Job* r : running)  // a budget needs the others' peaks, not guesses at them
            if (r != j && !has_prediction(r) && !r->is_protected && r->execd) return false;
        return budget(j) >= budget_growth(j) + double(cfg.rss_step);
    }
    // A running job's share of the three views changes with it.
    void set_on_budget(const Job* j, bool on) {
        bool counted = runs(j);
        if (counted) add_to_views(j, +1);
        if (on) p.on_budget_.insert(j->id);
        else p.on_budget_.erase(j->id);
        if (counted) add_to_views(j, -1);
    }

    void stop(const Job* j, ActionType type, Rule rule, const std::string& reason) {
        out.push_back({type, j->id, reason + basis(j), rule});
        auto& r = p.records_[j->id];
        r.jobs_ended_at_stop = tree.jobs_ended();
        r.stop_times.push_back(now);
        r.resumed_by_guard = false;
        r.growth_at_stop = std::max(0.0, j->growth);
        add_to_views(j, +1);
        running.erase(std::find(running.begin(), running.end(), j));
    }
    void resume(const Job* j, Rule rule, const std::string& reason) {
        out.push_back({ActionType::Resume, j->id, reason + basis(j), rule});
        double room = need(j) - double(j->swap);
        auto& r = p.records_[j->id];
        r.resumed_ns = now;
        r.resumed_by_guard = rule == Rule::Deadlock;
        r.reserved_at_resume = room;
        r.rss_at_resume = j->rss;
        p.last_resume_ns_ = now;
        unsettle();
        waiting.erase(std::find(waiting.begin(), waiting.end(), j));
        running.push_back(j);
    }
    // Headroom must settle above the high mark anew.
    void unsettle() {
        p.above_high_since_.reset();
        p.headroom_high_since_.reset();
    }
    // Never stopped or held: protected jobs, those the user said to run, and
    // jobs that have not exec'd yet: a driver's vfork child (make's and
    // ninja's posix_spawn) stopped before its exec stops the driver with it,
    // so no other job starts. It is judged at its exec, like every job.
    bool pinned(const Job* j) const { return j->is_protected || p.run_now_.count(j->id) > 0 || !j->execd; }
    // Hysteresis: a job that was just resumed, or stopped often, is left alone
    // unless memory is critical.
    bool may_stop(const Job* j) const {
        if (pinned(j)) return false;
        if (critical) return true;
        auto it = p.records_.find(j->id);
        if (it == p.records_.end()) return true;
        const StopRecord& r = it->second;
        double min_run = r.resumed_by_guard ? 2 * cfg.min_run_s : cfg.min_run_s;
        if (r.resumed_ns && secs(r.resumed_ns, now) < min_run) return false;
        int recent = std::count_if(r.stop_times.begin(), r.stop_times.end(),
                                   [&](uint64_t t) { return secs(t, now) < 60; });
        return recent < cfg.max_stops_per_min;
    }

    // The user said to run these: they run, whatever else holds.
    void run_now() {
        for (const Job* j : std::vector<const Job*>(waiting))
            if (p.run_now_.count(j->id)) resume(j, Rule::RunNow, "run now by the user: it runs until it ends");
    }
    // Manual pause: everything waits.
    void pause() {
        for (const Job* j : std::vector<const Job*>(running))
            if (!pinned(j)) stop(j, ActionType::Stop, Rule::Pause, "paused by the user");
        for (const Job* j : fresh) p.seen_.insert(j->id);
    }

    // Jobs that just appeared: hold them at exec, before they grow, when
    // memory is short, a cap is reached, or the build is draining. The least
    // invested are judged first; the head of the batch is never held. While
    // a stopped job waits, a new job is not exempt: a stopped job strands
    // what it holds until it runs again, so it resumes first
    // (keep_one_running()) rather than a new job growing beside what it strands.
    void hold_at_exec() {
        const Job* head_before = running.empty() ? nullptr : running.front();
        std::sort(fresh.begin(), fresh.end(), [](const Job* a, const Job* b) { return more_invested(b, a); });
        for (const Job* j : fresh) {
            p.seen_.insert(j->id);
            if (j->state != JobState::Running || pinned(j)) continue;
            int others = int(running.size()) - 1;
            if ((others == 0 || j == head_before) && !p.caps_.drain && !a_stopped_job_waits)
                continue;  // at least one job always runs, and the head never waits
            hold_one_at_exec(j, others);
        }
        std::sort(running.begin(), running.end(), more_invested);
    }
    void hold_one_at_exec(const Job* j, int others) {
        if (p.caps_.drain)
            return hold(j, Rule::Drain, "draining: new jobs wait");
        if (p.caps_.max_running && others >= p.caps_.max_running)
            return hold(j, Rule::Cap,
                        "held at exec: " + std::to_string(others) + " jobs run, the cap is " +
                            std::to_string(p.caps_.max_running));
        if (has_prediction(j) && !fits_by_prediction(j) && !thrashing && may_run_on_budget(j))
            return set_on_budget(j, true);  // runs while it is small
        if (has_prediction(j) && !fits_by_prediction(j))
            return hold(j, Rule::HoldMemory,
                        "held at exec: by the running jobs' predictions, headroom left " + mib(left_with(j)) +
                            " would be below the low mark " + mib(low));
        if (!has_prediction(j) && projected < high)
            return hold(j, Rule::HoldMemory,
                        "held at exec: projected headroom " + mib(projected) + " is below the resume mark " + mib(high));
        if (!has_prediction(j) && left_with(j) < low)
            return hold(j, Rule::HoldMemory,
                        std::string("held at exec: if it grew to ") +
                            (at_least(j) > double(typical) ? "what its killed runs reached (" + mib(at_least(j))
                                                           : "the build's typical peak (" + mib(double(typical))) +
                            "), headroom left " + mib(left_with(j)) + " would be below the low mark " + mib(low));
        if (thrashing) return hold(j, Rule::HoldPressure, "held at exec: memory pressure (" + why_pressure + ")");
        if (cpus_full(j)) {
            std::string reason = "held at exec: the CPUs are busy (" + cpu_note(j) + ")";
            p.held_for_cpu_.insert(j->id);
            hold(j, Rule::HoldCpu, reason);
        }
    }
    void hold(const Job* j, Rule rule, const std::string& reason) { stop(j, ActionType::Hold, rule, reason); }

    // A job on a budget whose whole peak now fits runs on like any other.
    // Then the head, which never waits, is the most invested job not on a budget.
    void end_budgets_that_fit() {
        for (const Job* j : std::vector<const Job*>(running))
            if (p.on_budget_.count(j->id) && fits_by_prediction(j)) set_on_budget(j, false);
        auto committed =
            std::find_if(running.begin(), running.end(), [&](const Job* r) { return !p.on_budget_.count(r->id); });
        head = running.empty() ? nullptr : committed != running.end() ? *committed : running.front();
    }

    // A job on a budget stops before it holds more than the others leave:
    // when its budget is less than a second of its growth and an RSS step.
    void stop_on_budget_end() {
        for (const Job* j : std::vector<const Job*>(running))
            if (p.on_budget_.count(j->id) && running.size() > 1 && !pinned(j) && budget(j) < budget_growth(j)) {
                stop(j, ActionType::Stop, Rule::BudgetEnd,
                     "its budget ran out: it ran while small beside jobs whose predicted peaks leave it " +
                         mib(budget(j) + double(j->rss)) + "; it resumes once its whole peak fits");
                p.on_budget_.erase(j->id);
            }
    }

    // Stop early: while the projected headroom is below the low mark, stop
    // the growing job that buys the most headroom per byte it strands:
    // growth / RSS, so the least invested of equal growers goes first and
    // small jobs about to finish are left to finish; jobs whose history
    // vouched for them when they started go last. The head never waits.
    void stop_on_projection() {
        auto value = [](const Job* j) { return j->growth / std::max<double>(double(j->rss), 16.0 * kMiB); };
        auto before = [&](const Job* a, const Job* b) {
            if (has_prediction(a) != has_prediction(b)) return !has_prediction(a);
            return value(a) > value(b);
        };
        while (projected < low) {
            const Job* pick = nullptr;
            for (const Job* j : running)
                if (j != head && j->growth >= cfg.min_growth && may_stop(j) && (!pick || before(j, pick))) pick = j;
            if (!pick) break;
            stop(pick, ActionType::Stop, Rule::StopProjection,
                 "projected headroom " + mib(projected) + " (" + std::to_string(int(cfg.horizon_s)) +
                     "s of growth, and growing jobs' reserve) is below the low mark " + mib(low) + "; " + pick->name +
                     " grows " + mib(pick->growth) + "/s at " + mib(double(pick->rss)));
        }
    }

    // Predicted peaks that would meet: while `reserved` is below the low
    // mark, the job with a prediction whose peak is due last waits (it
    // strands the least), so the others peak one after the other.
    void stop_for_meeting_peaks() {
        while (reserved < low) {
            const Job* pick = nullptr;
            for (const Job* j : running)
                if (j != head && has_prediction(j) && may_stop(j) && (!pick || peak_due_in(j) > peak_due_in(pick)))
                    pick = j;
            if (!pick) break;
            stop(pick, ActionType::Stop, Rule::StopPeaks,
                 "by the running jobs' predictions, headroom left " + mib(reserved) + " is below the low mark " +
                     mib(low) + "; its peak is due last, in " + std::to_string(int(std::max(0.0, peak_due_in(pick)))) +
                     "s");
        }
    }

    // Pressure that RSS does not show (file pages thrashing, PSI full): stop
    // the least invested job, one per settle period.
    void stop_on_pressure() {
        if (!thrashing || running.size() <= 1 || secs(p.last_pressure_stop_ns_, now) < cfg.settle_s) return;
        for (auto it = running.rbegin(); it != running.rend(); ++it) {
            if (*it == head || !may_stop(*it)) continue;
            stop(*it, ActionType::Stop, Rule::StopPressure,
                 "memory pressure: " + why_pressure + "; stopping the least invested job");
            p.last_pressure_stop_ns_ = now;
            break;
        }
    }

    // Livelock: the running jobs crawl (little CPU, major faults; where
    // faults are not counted, little CPU and no growth) in full memory for
    // livelock_s, and no job ends. Without swap, stopped jobs strand what
    // they hold until their own end, so the head may be unable to finish in
    // what is left, however long it thrashes.
    // - Two or more crawl: the least invested stops, one per livelock_s.
    // - One crawls beside stopped jobs: it stops, and the stopped job first
    //   in resume order that has not crawled alone since a job last ended
    //   runs alone, on trial, to finish first and free what it holds. Once
    //   all have crawled, the most invested runs on.
    // True when the decision ends here.
    bool break_livelock() {
        if (a_job_ended_now) p.tried_.clear();
        double crawl_cpu = 0, crawl_maj = 0, crawl_growth = 0;
        for (const Job* r : running) {
            auto it = cpu_use.find(r->id);
            crawl_cpu += it == cpu_use.end() ? 1.0 : it->second;
            crawl_maj += r->maj_per_s;
            crawl_growth += std::max(0.0, r->growth);
        }
        const double cpus_for_running =
            cfg.cpus > 0 ? std::min(double(running.size()), cfg.cpus) : double(running.size());
        // Without fault counts, a crawl is told by what it does to the jobs:
        // they neither compute nor grow.
        const bool faulting =
            cfg.faults_counted ? crawl_maj >= cfg.crawl_majflt_per_s : crawl_growth < cfg.min_growth;
        const bool crawling =
            !running.empty() && mem.headroom < low && faulting && crawl_cpu < 0.5 * cpus_for_running;
        if (!crawling || a_job_ended_now) p.crawl_since_.reset();
        else if (!p.crawl_since_) p.crawl_since_ = now;
        if (!p.crawl_since_ || secs(*p.crawl_since_, now) < cfg.livelock_s) return false;
        char what[128];
        if (cfg.faults_counted)
            snprintf(what, sizeof what,
                     "livelock: the running jobs crawl in full memory for %.0fs (%.1f CPUs, %.0f major faults/s)",
                     secs(*p.crawl_since_, now), crawl_cpu, crawl_maj);
        else
            snprintf(what, sizeof what, "livelock: the running jobs crawl in full memory for %.0fs (%.1f CPUs, no growth)",
                     secs(*p.crawl_since_, now), crawl_cpu);
        p.crawl_since_.reset();
        const Job* runner = running.front();
        if (running.size() == 1) p.tried_.insert(runner->id);
        const Job* candidate = nullptr;
        uint64_t stranded = 0;
        for (const Job* w : waiting)
            if (w->state == JobState::Stopped) {
                stranded += w->rss;
                if (!candidate && !p.tried_.count(w->id)) candidate = w;
            }
        auto least = std::find_if(running.rbegin(), running.rend(), [&](const Job* r) { return !pinned(r); });
        if (running.size() >= 2 && least != running.rend()) {
            stop(*least, ActionType::Stop, Rule::Livelock, std::string(what) + "; stopping the least invested job");
        } else if (running.size() == 1 && !pinned(runner) && candidate) {
            stop(runner, ActionType::Stop, Rule::Livelock,
                 std::string(what) + "; " + mib(double(stranded)) +
                     " are stranded by stopped jobs, so it may not finish: a stopped job runs alone first");
            resume(candidate, Rule::Livelock, "livelock: it runs alone to finish and free its " + mib(double(candidate->rss)));
            return true;
        } else if (running.size() == 1 && !pinned(runner) && !waiting.empty() &&
                   resumes_before(waiting.front(), runner) && waiting.front()->state == JobState::Stopped) {
            const std::string most_invested = "every stopped job crawled alone too: the most invested runs on";
            stop(runner, ActionType::Stop, Rule::Livelock, std::string(what) + "; " + most_invested);
            resume(waiting.front(), Rule::Livelock, "livelock: " + most_invested);
            return true;
        }
        return false;
    }

    // Manual cap on running jobs (one not exec'd yet is judged at its exec).
    void stop_over_cap() {
        auto execd_running = [&] {
            return std::count_if(running.begin(), running.end(), [](const Job* r) { return r->execd; });
        };
        while (p.caps_.max_running && execd_running() > p.caps_.max_running) {
            auto it = std::find_if(running.rbegin(), running.rend(), [&](const Job* r) { return !pinned(r); });
            if (it == running.rend() || *it == head) break;
            stop(*it, ActionType::Stop, Rule::Cap, "cap: at most " + std::to_string(p.caps_.max_running) + " running jobs");
        }
    }

    // At least one job always runs.
    bool keep_one_running() {
        if (!running.empty()) return false;
        if (p.finish_credits_) p.finish_credits_--;  // it replaces the job that finished
        resume(waiting.front(), Rule::OneRuns, "no job is running: resuming the most invested");
        return true;
    }

    // Deadlock guard: every running job is blocked, maybe on a stopped one.
    bool guard_deadlock() {
        if (!std::all_of(running.begin(), running.end(), [&](const Job* j) { return blocked.count(j->id); }))
            return false;
        resume(waiting.front(), Rule::Deadlock,
               "deadlock guard: all " + std::to_string(running.size()) + " running jobs made no progress for " +
                   std::to_string(int(cfg.deadlock_s)) + "s (waiting on a stopped job?)");
        return true;
    }

    // Resume with hysteresis: headroom above the high mark for settle_s, one
    // job per settle_s, the first eligible one in resume order.
    // - A job with a prediction resumes when the rest of its predicted peak
    //   fits above the low mark of the projection (resume_predicted()).
    // - Without one, the projection must stay above the high mark too
    //   (resume_unpredicted()).
    // Not in the decision that stopped a job for memory, either.
    void resume_one() {
        bool stopped_now =
            std::any_of(out.begin(), out.end(), [](const Action& a) { return a.type == ActionType::Stop; });
        if (mem.headroom < high || thrashing || stopped_now) return unsettle();
        if (!p.headroom_high_since_) p.headroom_high_since_ = now;
        if (projected < high) p.above_high_since_.reset();
        else if (!p.above_high_since_) p.above_high_since_ = now;
        if (p.caps_.max_running && int(running.size()) >= p.caps_.max_running) return;
        // Not while the CPUs are busy. A job held only for a CPU starts as
        // soon as one is free, without settling.
        if (cpus_full(nullptr)) return;
        for (const Job* j : waiting) {
            const bool cpu_only = p.held_for_cpu_.count(j->id) > 0;
            if (has_prediction(j) ? resume_predicted(j, cpu_only) : resume_unpredicted(j, cpu_only)) break;
        }
    }
    bool settled(const std::optional<uint64_t>& since) const {
        return since && secs(*since, now) >= cfg.settle_s && secs(p.last_resume_ns_, now) >= cfg.settle_s;
    }
    // Room until its peak is due, with a lead twice as long as when running;
    // else, maybe, on a budget. True if it resumed.
    bool resume_predicted(const Job* j, bool cpu_only) {
        double room = need(j);
        if (!settled(p.headroom_high_since_) && !cpu_only) return false;
        if (fits_by_prediction(j)) {
            resume(j, Rule::Resume,
                   "headroom " + mib(double(mem.headroom)) + " stayed above the resume mark " + mib(high) +
                       "; by its prediction it needs " + mib(room) + " before its peak is due, which fits");
            return true;
        }
        if (!may_run_on_budget(j)) return false;
        double room_now = budget(j);
        set_on_budget(j, true);
        resume(j, Rule::RunOnBudget,
               "by its prediction it needs " + mib(room) +
                   ", which does not fit beside the running jobs' predicted peaks; it runs on a budget of " +
                   mib(room_now) + " while it is small, and stops before it holds more");
        return true;
    }
    // No flip-flop between big jobs: a stopped job resumes once a job has
    // finished since it stopped (each finished job pays for one resume), or
    // when the projection keeps above the low mark with one more horizon of
    // the growth it had when stopped (so small jobs fill the room a big one
    // leaves once it has peaked; min_run_s and max_stops_per_min bound any
    // flip-flop). Jobs held at exec start as memory allows. True if it resumed.
    bool resume_unpredicted(const Job* j, bool cpu_only) {
        if (!settled(p.above_high_since_) && !cpu_only) return false;
        auto it = p.records_.find(j->id);
        bool finished_since =
            p.finish_credits_ > 0 && (it == p.records_.end() || tree.jobs_ended() > it->second.jobs_ended_at_stop);
        // Held at exec: it may double while the rest settles. Stopped: it
        // needs what the stop rule would project for it (regrowth()).
        // Either way, what was swapped out (paged out) while it waited comes back.
        bool held = j->state == JobState::Held;
        double room = (held ? double(j->rss) : std::max(regrowth(j), 16.0 * kMiB)) + double(j->swap);
        bool fits = held ? projected >= double(high) + room : projected - room >= double(low);
        if (left_with(j) < double(low)) return false;  // no room for it to grow as the build's jobs do
        if (!finished_since && !fits) return false;
        if (cpu_only && !fits) return false;
        if (finished_since && !fits) p.finish_credits_--;
        resume(j, Rule::Resume,
               "headroom " + mib(double(mem.headroom)) + " stayed above the resume mark " + mib(high) +
                   (fits ? "; room for it to grow to " + mib(double(j->rss) + std::max(room, need(j)))
                         : "; a job finished since it stopped"));
        return true;
    }
};

std::vector<Action> Policy::decide(const Tree& tree, const MemoryView& mem, uint64_t now,
                                   const std::set<uint64_t>& blocked, const std::map<uint64_t, double>& cpu_use) {
    forget_ended(tree);
    Context c(*this, tree, mem, now, blocked, cpu_use);
    c.run();
    return std::move(c.out);
}

}  // namespace swamp
