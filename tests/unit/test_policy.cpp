// The pipelining policy on synthetic builds: trees built from events, memory
// views by hand. Scale 1600 MiB gives the default marks low = 64M, high = 192M.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <set>

#include "build_sim.hpp"
#include "policy/policy.hpp"

using namespace swamp;
using namespace swamp::test;

namespace {

constexpr int64_t kLow = 64 * MiB, kHigh = 192 * MiB;

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const Action* find(const std::vector<Action>& acts, ActionType t, uint64_t job) {
    for (const Action& a : acts)
        if (a.type == t && a.job == job) return &a;
    return nullptr;
}

double growth_of(const Sim& s, std::initializer_list<uint64_t> jobs) {
    double g = 0;
    for (uint64_t id : jobs) g += std::max(0.0, s.job(id).growth);
    return g;
}

// Decides every `step` seconds for `secs` with the same memory; returns the
// resumes with the time (since the start of the call) they happened at.
std::vector<std::pair<double, uint64_t>> run_for(Sim& s, Policy& p, const MemoryView& mem, double secs,
                                                  double step = 0.1) {
    std::vector<std::pair<double, uint64_t>> out;
    int n = int(secs / step + 0.5);
    for (int i = 1; i <= n; i++) {
        s.advance(step);
        for (const Action& a : s.decide(p, mem)) {
            EXPECT_EQ(a.type, ActionType::Resume) << "unexpected " << action_name(a.type) << " of job " << a.job
                                                  << ": " << a.reason;
            out.emplace_back(i * step, a.job);
        }
    }
    return out;
}

}  // namespace

// The horizon these scenarios' arithmetic uses (2 * growth), whatever the default.
// The projection alone: two seconds of growth, no growth reserve.
PolicyConfig two_second_horizon() {
    PolicyConfig c;
    c.horizon_s = 2.0;
    c.growth_reserve = 0;
    return c;
}

TEST(Policy, Watermarks) {
    Policy p;
    EXPECT_EQ(p.low_watermark(view(0, 1600 * MiB)), uint64_t(kLow));
    EXPECT_EQ(p.high_watermark(view(0, 1600 * MiB)), uint64_t(kHigh));
    EXPECT_EQ(p.low_watermark(view(0, 512 * MiB)), 64 * MiB);  // floor
    EXPECT_EQ(p.low_watermark(view(0, 25 * GiB)), 1 * GiB);
    PolicyConfig cfg;
    cfg.low_watermark = 100 * MiB;
    Policy q(cfg);
    EXPECT_EQ(q.high_watermark(view(0, 1600 * MiB)), 300 * MiB);
}

TEST(Policy, TheHeadIsNeverStopped) {
    Sim s;
    Policy p;
    uint64_t h = s.spawn("cc1plus", 800 * MiB);
    uint64_t a = s.spawn("cc1plus", 100 * MiB);
    uint64_t b = s.spawn("cc1plus", 50 * MiB);
    s.prime(p);
    s.ramp({{h, 200.0 * MiB}, {a, 50.0 * MiB}, {b, 20.0 * MiB}});
    for (int i = 0; i < 20; i++) {
        auto acts = s.decide(p, view(-2 * int64_t(GiB)));  // far over, critical
        EXPECT_FALSE(find(acts, ActionType::Stop, h)) << "the head was stopped";
        if (i == 0) {
            EXPECT_EQ(jobs_of(acts, ActionType::Stop), (std::vector<uint64_t>{a, b}));
        }
        EXPECT_EQ(s.running(), std::vector<uint64_t>{h});
        s.ramp({{h, 200.0 * MiB}}, 0.3);
    }

    // a lone job is never stopped, however far over
    Sim t;
    Policy q;
    uint64_t only = t.spawn("ld", 3 * GiB);
    t.ramp({{only, 500.0 * MiB}});
    EXPECT_TRUE(t.decide(q, view(-10 * int64_t(GiB))).empty());
    EXPECT_EQ(t.job(only).state, JobState::Running);
}

TEST(Policy, NeverZeroRunningJobs) {
    Sim s;
    Policy p;
    uint64_t a = s.spawn("cc1plus", 300 * MiB);
    uint64_t b = s.spawn("cc1plus", 500 * MiB);
    uint64_t c = s.spawn("cc1plus", 100 * MiB);
    s.prime(p);
    for (uint64_t id : {a, b, c}) s.tree.set_state(id, JobState::Stopped, s.now);
    s.advance(0.25);
    auto acts = s.decide(p, view(-1 * int64_t(GiB)));  // even when memory is over
    ASSERT_EQ(acts.size(), 1u);
    EXPECT_EQ(acts[0].type, ActionType::Resume);
    EXPECT_EQ(acts[0].job, b) << "not the most invested";
    EXPECT_TRUE(contains(acts[0].reason, "no job is running")) << acts[0].reason;
    EXPECT_EQ(acts[0].rule, Rule::OneRuns) << acts[0].reason;
    EXPECT_EQ(s.running(), std::vector<uint64_t>{b});

    // equal RSS: the oldest
    Sim t;
    Policy q;
    uint64_t old = t.spawn("cc1plus", 200 * MiB);
    t.advance(1);
    uint64_t young = t.spawn("cc1plus", 200 * MiB);
    t.prime(q);
    t.tree.set_state(young, JobState::Held, t.now);
    t.tree.set_state(old, JobState::Stopped, t.now);
    acts = t.decide(q, view(0));
    ASSERT_EQ(acts.size(), 1u);
    EXPECT_EQ(acts[0].job, old);
}

TEST(Policy, NewJobHeldAtExecWhenProjectedHeadroomIsBelowTheHighMark) {
    Sim s;
    Policy p;
    // the first job runs whatever the memory
    uint64_t a = s.spawn("cc1plus", 400 * MiB);
    EXPECT_TRUE(s.decide(p, view(10 * MiB)).empty());
    EXPECT_EQ(s.job(a).state, JobState::Running);

    uint64_t b = s.spawn("cc1plus");
    auto acts = s.decide(p, view(150 * MiB));
    ASSERT_EQ(acts.size(), 1u);
    EXPECT_EQ(acts[0].type, ActionType::Hold);
    EXPECT_EQ(acts[0].job, b);
    EXPECT_TRUE(contains(acts[0].reason, "held at exec")) << acts[0].reason;
    EXPECT_EQ(acts[0].rule, Rule::HoldMemory) << acts[0].reason;
    EXPECT_EQ(s.job(b).state, JobState::Held);
    EXPECT_EQ(s.job(a).state, JobState::Running);

    // plenty of memory: a new job just runs
    uint64_t c = s.spawn("cc1plus");
    acts = s.decide(p, view(1 * GiB));
    EXPECT_FALSE(find(acts, ActionType::Hold, c));
    EXPECT_EQ(s.job(c).state, JobState::Running);
    // and it is judged once, at exec: later low memory does not hold it
    s.advance(0.1);
    acts = s.decide(p, view(150 * MiB));
    EXPECT_FALSE(find(acts, ActionType::Hold, c));
}

// A job is judged by what it runs: not while it is still the driver's fork
// (it may exec a protected name, or a driver), but at its exec.
TEST(Policy, ANewJobIsJudgedAtItsExecNotAtTheFork) {
    Sim s;
    Policy p;
    s.spawn("cc1plus", 400 * MiB);
    EXPECT_TRUE(s.decide(p, view(1 * GiB)).empty());
    uint32_t pid = 500;
    uint64_t b = s.tree.apply(fork_ev(s.now, pid, 1, "make")).new_jobs.at(0);
    EXPECT_TRUE(s.decide(p, view(10 * MiB)).empty()) << "held as make's fork";
    s.advance(0.001);
    s.tree.apply(exec_ev(s.now, pid, 1, "cc1plus", {"cc1plus", "b.c"}));
    auto acts = s.decide(p, view(10 * MiB));
    ASSERT_TRUE(find(acts, ActionType::Hold, b)) << "not held at its exec";
    EXPECT_TRUE(contains(find(acts, ActionType::Hold, b)->reason, "held at exec"));
    EXPECT_EQ(find(acts, ActionType::Hold, b)->rule, Rule::HoldMemory) << find(acts, ActionType::Hold, b)->reason;
}

TEST(Policy, HoldAtExecUsesTheProjection) {
    Sim s;
    Policy p(two_second_horizon());
    uint64_t a = s.spawn("cc1plus", 100 * MiB);
    s.prime(p);
    s.ramp({{a, 100.0 * MiB}});
    // 500M free now, but the running job will eat ~200M of it within the horizon... and more
    double g = growth_of(s, {a});
    ASSERT_GT(g, 90.0 * MiB);
    int64_t headroom = int64_t(kHigh + 2 * g - 20 * MiB);  // projected = high - 20M
    uint64_t b = s.spawn("cc1plus");
    auto acts = s.decide(p, view(headroom));
    EXPECT_TRUE(find(acts, ActionType::Hold, b));

    // projected = high + 20M: c starts if it may also grow to the build's
    // largest peak so far (a's RSS) and stay above the low mark
    uint64_t c = s.spawn("cc1plus");
    s.tree.set_state(b, JobState::Running, s.now);  // (by hand)
    const int64_t evidence = int64_t(s.job(a).peak);
    acts = s.decide(p, view(int64_t(kHigh + 2 * g + 20 * MiB) + evidence));
    EXPECT_FALSE(find(acts, ActionType::Hold, c));
    // room for the projection, not for c to grow as a did: held
    uint64_t d = s.spawn("cc1plus");
    s.tree.set_state(c, JobState::Running, s.now);
    acts = s.decide(p, view(int64_t(kHigh + 2 * g + 20 * MiB)));
    ASSERT_TRUE(find(acts, ActionType::Hold, d));
    EXPECT_TRUE(contains(acts.back().reason, "typical peak")) << acts.back().reason;
    EXPECT_EQ(acts.back().rule, Rule::HoldMemory) << acts.back().reason;
}

// Two jobs appear in one batch of events: the hold goes to the less invested
// one; the more invested, the head, keeps running.
TEST(Policy, NewJobsInOneBatchKeepTheMostInvestedRunning) {
    Sim s;
    Policy p;
    uint64_t a = s.spawn("cc1plus", 200 * MiB);
    uint64_t b = s.spawn("cc1plus");
    auto acts = s.decide(p, view(100 * MiB));
    const Action* held = find(acts, ActionType::Hold, a);
    EXPECT_FALSE(held) << "the most invested new job was held: " << (held ? held->reason : "");
    EXPECT_TRUE(find(acts, ActionType::Hold, b));
    EXPECT_EQ(s.running(), std::vector<uint64_t>{a});

    // a new job that has already outgrown every running one is the head: it runs
    Sim t;
    Policy q;
    uint64_t small = t.spawn("sh", 10 * MiB);
    t.prime(q);
    t.advance(1);
    uint64_t big = t.spawn("cc1plus", 200 * MiB);
    acts = t.decide(q, view(100 * MiB));
    held = find(acts, ActionType::Hold, big);
    EXPECT_FALSE(held) << "the head was held at exec: " << (held ? held->reason : "");
    EXPECT_EQ(t.job(big).state, JobState::Running);
    (void)small;
}

TEST(Policy, StopsTheBestGrowthPerRssFirstAndOnlyAsManyAsNeeded) {
    Sim s;
    uint64_t h = s.spawn("ld", 1000 * MiB);
    uint64_t a = s.spawn("cc1plus", 100 * MiB);
    uint64_t b = s.spawn("cc1plus", 400 * MiB);
    uint64_t c = s.spawn("cc1plus", 50 * MiB);  // not growing
    Policy warm;
    s.prime(warm);
    s.ramp({{h, 10.0 * MiB}, {a, 40.0 * MiB}, {b, 80.0 * MiB}});
    double ga = s.job(a).growth, gb = s.job(b).growth;
    double sum = growth_of(s, {h, a, b, c});
    ASSERT_GT(ga / s.job(a).rss, gb / s.job(b).rss);
    ASSERT_EQ(s.job(c).growth, 0.0);

    // one stop is enough: projected = low - ga, stopping a adds 2 ga
    {
        Policy p(two_second_horizon());
        s.prime(p);
        auto acts = s.decide(p, view(int64_t(2 * sum + kLow - ga)));
        ASSERT_EQ(acts.size(), 1u);
        EXPECT_EQ(acts[0].type, ActionType::Stop);
        EXPECT_EQ(acts[0].job, a);
        EXPECT_TRUE(contains(acts[0].reason, "low mark")) << acts[0].reason;
        EXPECT_EQ(acts[0].rule, Rule::StopProjection) << acts[0].reason;
        s.tree.set_state(a, JobState::Running, s.now);
    }
    // two are needed: a first, then b; never the head, never the flat job
    {
        Policy p(two_second_horizon());
        s.prime(p);
        auto acts = s.decide(p, view(int64_t(2 * sum + kLow - 2 * ga - gb)));
        EXPECT_EQ(jobs_of(acts, ActionType::Stop), (std::vector<uint64_t>{a, b}));
        EXPECT_EQ(acts.size(), 2u);
        s.tree.set_state(a, JobState::Running, s.now);
        s.tree.set_state(b, JobState::Running, s.now);
    }
    // far over: everything that grows goes, but not c (flat) nor the head
    {
        Policy p(two_second_horizon());
        s.prime(p);
        auto acts = s.decide(p, view(int64_t(kLow / 2 + 1)));
        EXPECT_EQ(jobs_of(acts, ActionType::Stop), (std::vector<uint64_t>{a, b}));
        EXPECT_EQ(s.running(), (std::vector<uint64_t>{h, c}));
    }
    // projection fits: nothing
    {
        for (uint64_t id : {a, b}) s.tree.set_state(id, JobState::Running, s.now);
        Policy p(two_second_horizon());
        s.prime(p);
        EXPECT_TRUE(s.decide(p, view(int64_t(2 * sum + kLow + MiB))).empty());
    }
}

// On a busy machine every job grows slowly: a big job growing at 20M/s
// projects only 80M in 4 s. The growth reserve (its RSS again, while it
// grows) stops the smaller grower while it is still small.
TEST(Policy, AGrowingJobKeepsARoomOfItsOwnSize) {
    Sim s;
    uint64_t h = s.spawn("cc1plus", 500 * MiB);
    uint64_t a = s.spawn("cc1plus", 100 * MiB);
    PolicyConfig plain;
    plain.growth_reserve = 0;
    Policy p0(plain), p1;
    s.prime(p0);
    s.prime(p1);
    s.ramp({{h, 20.0 * MiB}, {a, 20.0 * MiB}});
    int64_t headroom = 700 * MiB;  // the horizon alone projects ~540M left
    EXPECT_TRUE(s.decide(p0, view(headroom)).empty());
    auto acts = s.decide(p1, view(headroom));
    EXPECT_EQ(jobs_of(acts, ActionType::Stop), std::vector<uint64_t>{a});
    // a job that has stopped growing reserves nothing: a grows on alone
    s.tree.set_state(a, JobState::Running, s.now);
    s.advance(1.5);  // h's growth goes stale
    Policy p2;
    s.prime(p2);
    s.ramp({{a, 20.0 * MiB}});
    ASSERT_EQ(s.job(h).growth, 0.0);
    EXPECT_TRUE(s.decide(p2, view(headroom)).empty());
}

// A job holding a protected process (--protect, a login shell…) is never
// stopped or held: the policy stops the next best instead.
TEST(Policy, AProtectedJobIsNeverStoppedNorHeld) {
    Sim s;
    uint64_t h = s.spawn("ld", 1000 * MiB);
    uint64_t a = s.spawn("cc1plus", 100 * MiB);
    uint64_t b = s.spawn("cc1plus", 400 * MiB);
    Policy p;
    s.prime(p);
    s.ramp({{h, 10.0 * MiB}, {a, 40.0 * MiB}, {b, 80.0 * MiB}});
    s.tree.set_protected(a);  // a would be stopped first
    auto acts = s.decide(p, view(int64_t(kLow / 2 + 1)));  // far over
    EXPECT_EQ(jobs_of(acts, ActionType::Stop), (std::vector<uint64_t>{b}));
    EXPECT_EQ(s.running(), (std::vector<uint64_t>{h, a}));
    // nor held when it appears, even with memory short
    uint64_t c = s.spawn("cc1plus", 10 * MiB);
    s.tree.set_protected(c);
    acts = s.decide(p, view(int64_t(kLow / 2 + 1)));
    for (const Action& x : acts) {
        EXPECT_NE(x.job, c) << x.reason;
        EXPECT_NE(x.job, a) << x.reason;
    }
    EXPECT_EQ(s.job(c).state, JobState::Running);
}

TEST(Policy, SlowGrowersAreNotStoppedForTheProjection) {
    Sim s;
    Policy p;
    uint64_t h = s.spawn("ld", 900 * MiB);
    uint64_t a = s.spawn("cc1plus", 100 * MiB);
    s.prime(p);
    s.ramp({{h, 100.0 * MiB}, {a, 0.5 * MiB}});  // a below min_growth
    auto acts = s.decide(p, view(100 * MiB));
    EXPECT_TRUE(jobs_of(acts, ActionType::Stop).empty());
}

TEST(Policy, ResumesTheMostInvestedFirstOnePerSettlePeriod) {
    Sim s;
    Policy p;
    uint64_t h = s.spawn("ld", 900 * MiB);
    uint64_t z = s.spawn("cc1plus", 100 * MiB);
    uint64_t x = s.spawn("cc1plus", 300 * MiB);
    uint64_t y = s.spawn("cc1plus", 200 * MiB);
    s.prime(p);
    for (uint64_t id : {x, y, z}) s.tree.set_state(id, JobState::Stopped, s.now);
    const double settle = p.config().settle_s;

    // headroom below the high mark: nothing resumes
    EXPECT_TRUE(run_for(s, p, view(kHigh - MiB), 3).empty());
    // back above: x after settle_s, then y, then z, at least settle_s apart
    auto resumes = run_for(s, p, view(1 * GiB), 5);
    ASSERT_EQ(resumes.size(), 3u);
    EXPECT_EQ(resumes[0].second, x);
    EXPECT_EQ(resumes[1].second, y);
    EXPECT_EQ(resumes[2].second, z);
    EXPECT_GE(resumes[0].first + 1e-9, settle);
    EXPECT_GE(resumes[1].first - resumes[0].first + 1e-9, settle);
    EXPECT_GE(resumes[2].first - resumes[1].first + 1e-9, settle);
    EXPECT_EQ(s.running().size(), 4u);
    (void)h;
}

TEST(Policy, ADipBelowTheHighMarkRestartsTheSettleTime) {
    Sim s;
    Policy p;
    s.spawn("ld", 900 * MiB);
    uint64_t x = s.spawn("cc1plus", 300 * MiB);
    s.prime(p);
    s.tree.set_state(x, JobState::Stopped, s.now);
    EXPECT_TRUE(run_for(s, p, view(1 * GiB), 0.4).empty());
    EXPECT_TRUE(run_for(s, p, view(kHigh - 1), 0.1).empty());  // one dip
    EXPECT_TRUE(run_for(s, p, view(1 * GiB), 0.4).empty());     // settle starts over
    auto r = run_for(s, p, view(1 * GiB), 0.3);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].second, x);

    // the projection counts too: free now but about to be eaten
    Sim t;
    Policy q;
    uint64_t head = t.spawn("ld", 900 * MiB);
    uint64_t w = t.spawn("cc1plus", 100 * MiB);
    t.prime(q);
    t.tree.set_state(w, JobState::Stopped, t.now);
    t.ramp({{head, 200.0 * MiB}}, 1);
    for (int i = 0; i < 20; i++) {
        t.ramp({{head, 200.0 * MiB}}, 0.1);
        EXPECT_TRUE(t.decide(q, view(kHigh + 100 * MiB)).empty());  // projected ~ high - 300M
    }
}

namespace {

// h (head) and a run; a grows until the policy stops it for memory.
struct StoppedForMemory {
    Sim s;
    Policy p;
    uint64_t h = 0, a = 0, c = 0;
    double growth_at_stop = 0;
    explicit StoppedForMemory(PolicyConfig cfg = {}) : p(cfg) {
        h = s.spawn("ld", 800 * MiB);
        a = s.spawn("cc1plus", 100 * MiB);
        c = s.spawn("as", 20 * MiB);  // small, flat
        s.prime(p);
        s.ramp({{h, 5.0 * MiB}, {a, 60.0 * MiB}}, 2);  // a: ~220M
        auto acts = s.decide(p, view(150 * MiB));      // projected ~20M < low
        EXPECT_EQ(jobs_of(acts, ActionType::Stop), std::vector<uint64_t>{a});
        growth_at_stop = s.job(a).growth;
        s.advance(1.5);  // growth goes stale: no projection any more
    }
};

}  // namespace

TEST(Policy, NoFlipFlopJustAboveTheHighMark) {
    StoppedForMemory f;
    // a resumes only with room for one more horizon of the growth it had when stopped
    int64_t room = int64_t(f.growth_at_stop * PolicyConfig{}.horizon_s);
    ASSERT_GT(room, kHigh - kLow) << "a grew fast: more than the gap between the marks";
    // just above high, no job finished: a stays stopped; so it does just short of low + room
    EXPECT_TRUE(run_for(f.s, f.p, view(kHigh + 10 * MiB), 5, 0.25).empty());
    EXPECT_TRUE(run_for(f.s, f.p, view(kLow + room - 10 * MiB), 3, 0.25).empty());
    // with that room above the low mark, and c's (20M: small and flat, it may double): resumed
    auto r = run_for(f.s, f.p, view(kLow + room + 30 * MiB), 2, 0.25);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].second, f.a);
}

// a needs room for what it would grow by again (~60M/s: 240M in a horizon);
// c, small and flat, may still double (20M). The headroom leaves room for a
// only once c has ended.
TEST(Policy, AJobStoppedForMemoryResumesOnceAJobHasFinished) {
    StoppedForMemory f;
    const int64_t headroom = kLow + int64_t(f.growth_at_stop * PolicyConfig{}.horizon_s) + 10 * MiB;
    EXPECT_TRUE(run_for(f.s, f.p, view(headroom), 2, 0.25).empty());
    f.s.finish(f.c);
    f.s.advance(0.25);
    std::vector<Action> all;
    for (int i = 0; i < 8; i++) {
        auto acts = f.s.decide(f.p, view(headroom));
        all.insert(all.end(), acts.begin(), acts.end());
        f.s.advance(0.25);
    }
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].type, ActionType::Resume);
    EXPECT_EQ(all[0].job, f.a);
}

TEST(Policy, AResumedJobIsNotStoppedAgainWithinMinRun) {
    StoppedForMemory f;
    auto r = run_for(f.s, f.p, view(2 * GiB), 1, 0.25);
    ASSERT_EQ(r.size(), 1u);
    uint64_t resumed_at = f.s.now;
    (void)resumed_at;
    // it grows again, memory gets tight (not critical): left alone for min_run_s
    f.s.ramp({{f.h, 5.0 * MiB}, {f.a, 60.0 * MiB}}, 2);
    auto acts = f.s.decide(f.p, view(100 * MiB));
    EXPECT_FALSE(find(acts, ActionType::Stop, f.a));
    // past min_run_s: it may be stopped again
    f.s.ramp({{f.h, 5.0 * MiB}, {f.a, 60.0 * MiB}}, 1.5);
    acts = f.s.decide(f.p, view(100 * MiB));
    EXPECT_TRUE(find(acts, ActionType::Stop, f.a));
}

TEST(Policy, CriticalMemoryOverridesMinRun) {
    StoppedForMemory f;
    ASSERT_EQ(run_for(f.s, f.p, view(2 * GiB), 1, 0.25).size(), 1u);
    f.s.ramp({{f.h, 5.0 * MiB}, {f.a, 60.0 * MiB}}, 1);
    auto acts = f.s.decide(f.p, view(kLow / 2 - 1));  // critical
    EXPECT_TRUE(find(acts, ActionType::Stop, f.a));
}

TEST(Policy, AtMostMaxStopsPerMinutePerJob) {
    PolicyConfig cfg;
    cfg.min_run_s = 0;
    Sim s;
    Policy p(cfg);
    uint64_t h = s.spawn("ld", 2 * GiB);
    uint64_t a = s.spawn("cc1plus", 100 * MiB);
    s.prime(p);
    auto cycle = [&] {
        s.ramp({{h, 5.0 * MiB}, {a, 60.0 * MiB}}, 1);
        auto acts = s.decide(p, view(150 * MiB));  // projected ~20M: below low, not critical
        bool stopped = find(acts, ActionType::Stop, a);
        s.tree.set_state(a, JobState::Running, s.now);  // resumed (by hand)
        return stopped;
    };
    for (int i = 0; i < cfg.max_stops_per_min; i++) EXPECT_TRUE(cycle()) << "stop " << i + 1;
    for (int i = 0; i < 5; i++) EXPECT_FALSE(cycle()) << "stop beyond " << cfg.max_stops_per_min << " in a minute";
    // critical memory overrides the bound
    s.ramp({{h, 5.0 * MiB}, {a, 60.0 * MiB}}, 1);
    EXPECT_TRUE(find(s.decide(p, view(kLow / 2 - 1)), ActionType::Stop, a));
    s.tree.set_state(a, JobState::Running, s.now);
    // a minute later the count has aged out
    s.advance(60);
    EXPECT_TRUE(cycle());
}

TEST(Policy, DeadlockGuardResumesOneWhenEveryRunningJobIsBlocked) {
    Sim s;
    Policy p;
    uint64_t h = s.spawn("ld", 800 * MiB);
    uint64_t a = s.spawn("cc1plus", 300 * MiB);
    uint64_t b = s.spawn("cc1plus", 100 * MiB);
    s.prime(p);
    s.tree.set_state(a, JobState::Stopped, s.now);
    s.tree.set_state(b, JobState::Stopped, s.now);
    MemoryView low = view(100 * MiB);  // no resume for memory

    EXPECT_TRUE(s.decide(p, low).empty());
    s.advance(0.25);
    auto acts = s.decide(p, low, {h});
    ASSERT_EQ(acts.size(), 1u);
    EXPECT_EQ(acts[0].type, ActionType::Resume);
    EXPECT_EQ(acts[0].job, a);
    EXPECT_TRUE(starts_with(acts[0].reason, "deadlock guard")) << acts[0].reason;
    EXPECT_EQ(acts[0].rule, Rule::Deadlock) << acts[0].reason;
    ActionCounts counts;  // as the controller counts them
    counts.count(acts[0]);
    EXPECT_EQ(counts.resumes, 1u);
    EXPECT_EQ(counts.deadlock_resumes, 1u);

    // one running job still progresses: no guard
    s.advance(0.25);
    EXPECT_TRUE(s.decide(p, low, {h}).empty());
    // both blocked again: the next one
    s.advance(0.25);
    acts = s.decide(p, low, {h, a});
    ASSERT_EQ(acts.size(), 1u);
    EXPECT_EQ(acts[0].job, b);
    EXPECT_TRUE(starts_with(acts[0].reason, "deadlock guard")) << acts[0].reason;
    EXPECT_EQ(acts[0].rule, Rule::Deadlock) << acts[0].reason;
    // blocked jobs that are not running do not count
    s.tree.set_state(b, JobState::Stopped, s.now);
    s.advance(0.25);
    EXPECT_TRUE(s.decide(p, low, {b}).empty());
}

// A head that crawls in full memory (little CPU, major faults) beside stopped
// jobs that strand memory: after livelock_s it stops and each stopped job, in
// resume order, runs alone once; when all have crawled, the most invested runs
// on, and a job that ends starts the rotation afresh.
TEST(Policy, LivelockRotatesTheStoppedJobsThroughRunningAlone) {
    Sim s;
    PolicyConfig cfg;
    Policy p(cfg);
    uint64_t h = s.spawn("cc1plus", 1900 * MiB);
    uint64_t a = s.spawn("cc1plus", 500 * MiB);
    uint64_t b = s.spawn("cc1plus", 400 * MiB);
    s.prime(p);
    s.tree.set_state(a, JobState::Stopped, s.now);
    s.tree.set_state(b, JobState::Stopped, s.now);
    MemoryView full = view(10 * MiB);
    auto crawl = [&](uint64_t who, double cpu, double secs) {
        std::vector<Action> acts;
        for (int i = 0; i < int(secs * 4 + 0.5) && acts.empty(); i++) {
            s.advance(0.25);
            s.faults(who, 300);
            acts = s.decide(p, full, {}, {{who, cpu}});
        }
        return acts;
    };
    // using its CPU, it is not a livelock, however full memory is
    EXPECT_TRUE(crawl(h, 0.9, 10).empty());
    // crawling: not before livelock_s
    EXPECT_TRUE(crawl(h, 0.2, cfg.livelock_s - 0.5).empty());
    auto acts = crawl(h, 0.2, 1);
    ASSERT_EQ(jobs_of(acts, ActionType::Stop), std::vector<uint64_t>{h});
    ASSERT_EQ(jobs_of(acts, ActionType::Resume), std::vector<uint64_t>{a});
    EXPECT_TRUE(contains(find(acts, ActionType::Stop, h)->reason, "900M are stranded")) << acts[0].reason;
    EXPECT_EQ(find(acts, ActionType::Stop, h)->rule, Rule::Livelock) << find(acts, ActionType::Stop, h)->reason;
    EXPECT_EQ(find(acts, ActionType::Resume, a)->rule, Rule::Livelock) << find(acts, ActionType::Resume, a)->reason;
    // a crawls alone too: b's turn
    acts = crawl(a, 0.1, cfg.livelock_s + 0.5);
    EXPECT_EQ(jobs_of(acts, ActionType::Stop), std::vector<uint64_t>{a});
    EXPECT_EQ(jobs_of(acts, ActionType::Resume), std::vector<uint64_t>{b});
    // so does b: every stopped job crawled, the most invested runs on
    acts = crawl(b, 0.1, cfg.livelock_s + 0.5);
    EXPECT_EQ(jobs_of(acts, ActionType::Stop), std::vector<uint64_t>{b});
    EXPECT_EQ(jobs_of(acts, ActionType::Resume), std::vector<uint64_t>{h});
    // and stays: nothing is left to try
    EXPECT_TRUE(crawl(h, 0.1, 3 * cfg.livelock_s).empty());
    // a job ends (here b, resumed by hand): the rotation starts afresh
    s.tree.set_state(b, JobState::Running, s.now);
    s.finish(b);
    EXPECT_TRUE(crawl(h, 0.1, cfg.livelock_s - 0.5).empty());
    acts = crawl(h, 0.1, 1);
    EXPECT_EQ(jobs_of(acts, ActionType::Stop), std::vector<uint64_t>{h});
    EXPECT_EQ(jobs_of(acts, ActionType::Resume), std::vector<uint64_t>{a});
}

// Two jobs that crawl in full memory: the least invested stops.
TEST(Policy, LivelockOfTwoRunningJobsStopsTheLeastInvested) {
    Sim s;
    PolicyConfig cfg;
    cfg.cpus = 2;
    Policy p(cfg);
    uint64_t h = s.spawn("cc1plus", 1200 * MiB);
    uint64_t a = s.spawn("cc1plus", 700 * MiB);
    s.prime(p);
    std::vector<Action> acts;
    for (int i = 0; i < 40 && acts.empty(); i++) {
        s.advance(0.25);
        s.faults(h, 100);
        s.faults(a, 100);
        acts = s.decide(p, view(10 * MiB), {}, {{h, 0.3}, {a, 0.3}});
    }
    ASSERT_EQ(jobs_of(acts, ActionType::Stop), std::vector<uint64_t>{a});
    EXPECT_TRUE(starts_with(acts[0].reason, "livelock: the running jobs crawl")) << acts[0].reason;
    EXPECT_EQ(acts[0].rule, Rule::Livelock) << acts[0].reason;
}

// Where the source counts no major faults (the no-BTF variant), a crawl is
// little CPU in full memory while no running job grows: the same rotation.
TEST(Policy, LivelockWithoutFaultCountsGoesByCpuAndGrowth) {
    Sim s;
    PolicyConfig cfg;
    Policy p(cfg);
    p.set_faults_counted(false);
    uint64_t h = s.spawn("cc1plus", 1900 * MiB);
    uint64_t a = s.spawn("cc1plus", 500 * MiB);
    s.prime(p);
    s.tree.set_state(a, JobState::Stopped, s.now);
    MemoryView full = view(10 * MiB);
    auto crawl = [&](double cpu, double growth_mib_s, double secs) {
        std::vector<Action> acts;
        for (int i = 0; i < int(secs * 4 + 0.5) && acts.empty(); i++) {
            if (growth_mib_s > 0) s.ramp({{h, growth_mib_s * MiB}}, 0.25);
            else s.advance(0.25);
            acts = s.decide(p, full, {}, {{h, cpu}});
        }
        return acts;
    };
    // growing, however slowly it computes: not a crawl
    EXPECT_TRUE(crawl(0.2, 8, 3 * cfg.livelock_s).empty());
    // using its CPU: not a crawl either
    EXPECT_TRUE(crawl(0.9, 0, 3 * cfg.livelock_s).empty());
    // neither computing nor growing, for livelock_s: the stopped job runs alone
    EXPECT_TRUE(crawl(0.1, 0, cfg.livelock_s - 0.5).empty());
    auto acts = crawl(0.1, 0, 1);
    EXPECT_EQ(jobs_of(acts, ActionType::Stop), std::vector<uint64_t>{h});
    EXPECT_EQ(jobs_of(acts, ActionType::Resume), std::vector<uint64_t>{a});
    EXPECT_TRUE(contains(find(acts, ActionType::Stop, h)->reason, "no growth")) << acts[0].reason;
    EXPECT_EQ(find(acts, ActionType::Stop, h)->rule, Rule::Livelock) << find(acts, ActionType::Stop, h)->reason;
}

TEST(Policy, AJobResumedByTheGuardGetsTwiceTheMinRun) {
    Sim s;
    Policy p;
    uint64_t h = s.spawn("ld", 800 * MiB);
    uint64_t a = s.spawn("cc1plus", 100 * MiB);
    s.prime(p);
    s.tree.set_state(a, JobState::Stopped, s.now);
    auto acts = s.decide(p, view(100 * MiB), {h});
    ASSERT_EQ(jobs_of(acts, ActionType::Resume), std::vector<uint64_t>{a});
    const double min_run = p.config().min_run_s;
    s.ramp({{h, 5.0 * MiB}, {a, 60.0 * MiB}}, min_run + 1);
    EXPECT_TRUE(jobs_of(s.decide(p, view(100 * MiB)), ActionType::Stop).empty());
    s.ramp({{h, 5.0 * MiB}, {a, 60.0 * MiB}}, min_run);
    EXPECT_EQ(jobs_of(s.decide(p, view(100 * MiB)), ActionType::Stop), std::vector<uint64_t>{a});
}

TEST(Policy, CapMaxRunningOne) {
    Sim s;
    Policy p;
    uint64_t a = s.spawn("cc1plus", 300 * MiB);
    uint64_t b = s.spawn("cc1plus", 500 * MiB);
    uint64_t c = s.spawn("cc1plus", 100 * MiB);
    s.prime(p);
    p.set_caps(Caps{1, false, false});
    auto acts = s.decide(p, view(4 * GiB));
    EXPECT_EQ(jobs_of(acts, ActionType::Stop), (std::vector<uint64_t>{c, a}));  // least invested first
    for (const Action& x : acts) EXPECT_TRUE(contains(x.reason, "at most 1")) << x.reason;
    for (const Action& x : acts) EXPECT_EQ(x.rule, Rule::Cap) << x.reason;
    EXPECT_EQ(s.running(), std::vector<uint64_t>{b});

    // plenty of memory, still one
    EXPECT_TRUE(run_for(s, p, view(4 * GiB), 3).empty());
    // a new job is held
    uint64_t d = s.spawn("cc1plus");
    acts = s.decide(p, view(4 * GiB));
    ASSERT_EQ(acts.size(), 1u);
    EXPECT_EQ(acts[0].type, ActionType::Hold);
    EXPECT_EQ(acts[0].job, d);
    EXPECT_TRUE(contains(acts[0].reason, "cap")) << acts[0].reason;
    EXPECT_EQ(acts[0].rule, Rule::Cap) << acts[0].reason;
    // the running one finishes: the most invested waiting one runs, only it
    s.finish(b);
    s.advance(0.25);
    acts = s.decide(p, view(4 * GiB));
    EXPECT_EQ(jobs_of(acts, ActionType::Resume), std::vector<uint64_t>{a});
    auto later = run_for(s, p, view(4 * GiB), 3);
    EXPECT_TRUE(later.empty());
    EXPECT_EQ(s.running().size(), 1u);

    // raising the cap lets the others resume, one per settle period
    p.set_caps(Caps{3, false, false});
    later = run_for(s, p, view(4 * GiB), 3);
    ASSERT_EQ(later.size(), 2u);
    EXPECT_EQ(later[0].second, c);  // 100M vs d's 0
    EXPECT_EQ(later[1].second, d);
}

// make and ninja start jobs with posix_spawn (vfork): until the child execs,
// the driver waits on it. A job stopped before its exec would stop the driver
// and every job it would start, so the cap, a pause or pressure leave it to
// its exec, where it is judged (held) like every job.
TEST(Policy, AJobIsNeverStoppedBeforeItsExec) {
    Sim s;
    Policy p;
    uint64_t a = s.spawn("cc1plus", 300 * MiB);
    s.prime(p);
    p.set_caps(Caps{1, false, false});
    const uint32_t child = 500;
    TreeDelta d = s.tree.apply(fork_ev(s.now, child, 1, "make"));
    ASSERT_EQ(d.new_jobs.size(), 1u);
    uint64_t b = d.new_jobs.front();
    for (int i = 0; i < 8; i++) {
        s.advance(0.25);
        EXPECT_TRUE(s.decide(p, view(4 * GiB)).empty()) << "the driver's fork was stopped before its exec";
    }
    p.set_caps(Caps{0, true, false});  // paused: the exec'd job stops, the fork goes on to its exec
    EXPECT_EQ(jobs_of(s.decide(p, view(4 * GiB)), ActionType::Stop), std::vector<uint64_t>{a});
    EXPECT_EQ(s.job(b).state, JobState::Running);
    p.set_caps(Caps{});  // unpaused, no cap: the stopped job runs again
    run_for(s, p, view(4 * GiB), 3);
    ASSERT_EQ(s.job(a).state, JobState::Running);
    p.set_caps(Caps{1, false, false});
    EXPECT_TRUE(s.decide(p, view(4 * GiB)).empty());
    s.tree.apply(exec_ev(s.now, child, 1, "cc1plus"));
    auto acts = s.decide(p, view(4 * GiB));
    ASSERT_EQ(acts.size(), 1u);
    EXPECT_EQ(acts[0].job, b);
    EXPECT_EQ(acts[0].type, ActionType::Hold) << acts[0].reason;
}

TEST(Policy, PauseStopsEveryJob) {
    Sim s;
    Policy p;
    uint64_t a = s.spawn("cc1plus", 300 * MiB);
    uint64_t b = s.spawn("cc1plus", 500 * MiB);
    s.prime(p);
    p.set_caps(Caps{0, true, false});
    auto acts = s.decide(p, view(4 * GiB));
    auto stopped = jobs_of(acts, ActionType::Stop);
    std::sort(stopped.begin(), stopped.end());
    EXPECT_EQ(stopped, (std::vector<uint64_t>{a, b}));  // the head too
    for (const Action& x : acts) EXPECT_TRUE(contains(x.reason, "paused")) << x.reason;
    for (const Action& x : acts) EXPECT_EQ(x.rule, Rule::Pause) << x.reason;
    EXPECT_TRUE(s.running().empty());
    // a job that starts while paused waits too; nothing resumes
    uint64_t c = s.spawn("cc1plus");
    acts = s.decide(p, view(4 * GiB));
    EXPECT_EQ(jobs_of(acts, ActionType::Stop), std::vector<uint64_t>{c});
    for (int i = 0; i < 10; i++) {
        s.advance(0.25);
        EXPECT_TRUE(s.decide(p, view(4 * GiB)).empty());
    }
    // unpaused: the most invested runs at once
    p.set_caps(Caps{});
    acts = s.decide(p, view(4 * GiB));
    EXPECT_EQ(jobs_of(acts, ActionType::Resume), std::vector<uint64_t>{b});
}

// `ctl run JOB` / top's "run this job now": the job runs through a pause, a
// cap and low memory, is never stopped or held, counts as running against
// the cap, and the override goes with the job.
TEST(Policy, RunNowOverridesPauseCapAndMemoryUntilTheJobEnds) {
    Sim s;
    Policy p;
    uint64_t h = s.spawn("ld", 800 * MiB);
    uint64_t a = s.spawn("cc1plus", 300 * MiB);
    s.prime(p);
    p.set_caps(Caps{0, true, false});
    auto acts = s.decide(p, view(4 * GiB));
    EXPECT_EQ(s.waiting().size(), 2u);
    // paused: the chosen job resumes at once, the other stays stopped
    p.run_now(a);
    acts = s.decide(p, view(4 * GiB));
    ASSERT_EQ(acts.size(), 1u);
    EXPECT_EQ(acts[0].type, ActionType::Resume);
    EXPECT_EQ(acts[0].job, a);
    EXPECT_TRUE(contains(acts[0].reason, "run now by the user")) << acts[0].reason;
    EXPECT_EQ(acts[0].rule, Rule::RunNow) << acts[0].reason;
    EXPECT_EQ(s.running(), std::vector<uint64_t>{a});
    EXPECT_TRUE(run_for(s, p, view(4 * GiB), 2).empty());  // the pause keeps h stopped, a running
    // unpaused under a cap of 1: a counts as the one running job, so h waits
    p.set_caps(Caps{1, false, false});
    EXPECT_TRUE(run_for(s, p, view(4 * GiB), 2).empty());
    EXPECT_EQ(s.running(), std::vector<uint64_t>{a});
    // memory critical, a growing fast: a is still never stopped, and a new job is held
    s.ramp({{a, 200.0 * MiB}}, 1.0);
    uint64_t c = s.spawn("cc1plus");
    acts = s.decide(p, view(10 * MiB));
    EXPECT_EQ(find(acts, ActionType::Stop, a), nullptr);
    EXPECT_NE(find(acts, ActionType::Hold, c), nullptr);
    EXPECT_EQ(s.job(a).state, JobState::Running);
    EXPECT_EQ(p.run_now_jobs(), std::set<uint64_t>{a});
    // once it ends, the override is gone with it
    s.finish(a);
    s.decide(p, view(4 * GiB));
    EXPECT_TRUE(p.run_now_jobs().empty());
    // and an unknown job is forgotten at the next decision
    p.run_now(9999);
    s.decide(p, view(4 * GiB));
    EXPECT_TRUE(p.run_now_jobs().empty());
    (void)h;
}

TEST(Policy, DrainHoldsNewJobsAndResumesNothing) {
    Sim s;
    Policy p;
    uint64_t h = s.spawn("ld", 800 * MiB);
    uint64_t a = s.spawn("cc1plus", 300 * MiB);
    s.prime(p);
    s.tree.set_state(a, JobState::Stopped, s.now);
    p.set_caps(Caps{0, false, true});
    uint64_t c = s.spawn("cc1plus");
    auto acts = s.decide(p, view(4 * GiB));
    ASSERT_EQ(acts.size(), 1u);
    EXPECT_EQ(acts[0].type, ActionType::Hold);
    EXPECT_EQ(acts[0].job, c);
    EXPECT_TRUE(contains(acts[0].reason, "drain")) << acts[0].reason;
    EXPECT_EQ(acts[0].rule, Rule::Drain) << acts[0].reason;
    EXPECT_EQ(s.job(h).state, JobState::Running);  // what runs keeps running
    EXPECT_TRUE(run_for(s, p, view(4 * GiB), 3).empty());
    s.finish(h);
    EXPECT_TRUE(run_for(s, p, view(4 * GiB), 3).empty());
    EXPECT_EQ(s.waiting().size(), 2u);
}

TEST(Policy, ThrashingStopsTheLeastInvestedOnePerSettlePeriod) {
    Sim s;
    Policy p;
    uint64_t h = s.spawn("ld", 800 * MiB);
    uint64_t a = s.spawn("cc1plus", 300 * MiB);
    uint64_t b = s.spawn("cc1plus", 100 * MiB);
    uint64_t c = s.spawn("cc1plus", 200 * MiB);
    s.prime(p);
    const MemoryView plenty = view(1 * GiB);  // RSS shows no problem

    s.advance(1);
    s.faults(a, 1500);
    s.faults(h, 600);  // 2100/s in the build
    auto acts = s.decide(p, plenty);
    ASSERT_EQ(acts.size(), 1u);
    EXPECT_EQ(acts[0].type, ActionType::Stop);
    EXPECT_EQ(acts[0].job, b);
    EXPECT_TRUE(contains(acts[0].reason, "memory pressure")) << acts[0].reason;
    EXPECT_EQ(acts[0].rule, Rule::StopPressure) << acts[0].reason;
    EXPECT_TRUE(contains(acts[0].reason, "major faults")) << acts[0].reason;
    // within settle_s: no second stop
    s.advance(0.2);
    s.faults(a, 3000);
    EXPECT_TRUE(s.decide(p, plenty).empty());
    s.advance(0.3);
    s.faults(a, 3000);
    EXPECT_EQ(jobs_of(s.decide(p, plenty), ActionType::Stop), std::vector<uint64_t>{c});
    s.advance(0.5);
    s.faults(a, 3000);
    EXPECT_EQ(jobs_of(s.decide(p, plenty), ActionType::Stop), std::vector<uint64_t>{a});
    // only the head is left: it runs on
    for (int i = 0; i < 4; i++) {
        s.advance(0.5);
        s.faults(h, 3000);
        EXPECT_TRUE(s.decide(p, plenty).empty());
    }
    EXPECT_EQ(s.running(), std::vector<uint64_t>{h});
    // pressure gone (samples stale): resumes come back
    s.advance(2);
    auto r = run_for(s, p, plenty, 3);
    EXPECT_FALSE(r.empty());

    // below the threshold: nothing
    Sim t;
    Policy q;
    t.spawn("ld", 800 * MiB);
    uint64_t x = t.spawn("cc1plus", 100 * MiB);
    t.prime(q);
    t.advance(1);
    t.faults(x, 1999);
    EXPECT_TRUE(t.decide(q, plenty).empty());
}

TEST(Policy, PsiFullCountsAsPressure) {
    Sim s;
    Policy p;
    uint64_t h = s.spawn("ld", 800 * MiB);
    uint64_t a = s.spawn("cc1plus", 300 * MiB);
    s.prime(p);
    s.advance(1);
    auto acts = s.decide(p, view(1 * GiB, 1600 * MiB, 25.0));
    EXPECT_EQ(jobs_of(acts, ActionType::Stop), std::vector<uint64_t>{a});
    ASSERT_FALSE(acts.empty());
    EXPECT_TRUE(contains(acts[0].reason, "PSI")) << acts[0].reason;
    EXPECT_EQ(acts[0].rule, Rule::StopPressure) << acts[0].reason;
    // a new job under pressure is held at exec
    s.advance(1);
    uint64_t c = s.spawn("cc1plus");
    acts = s.decide(p, view(1 * GiB, 1600 * MiB, 25.0));
    const Action* hold = find(acts, ActionType::Hold, c);
    ASSERT_TRUE(hold);
    EXPECT_TRUE(contains(hold->reason, "pressure")) << hold->reason;
    EXPECT_EQ(s.running(), std::vector<uint64_t>{h});
    // below the threshold: no more stops
    s.advance(1);
    EXPECT_TRUE(s.decide(p, view(1 * GiB, 1600 * MiB, 9.0)).empty());
}

TEST(Policy, WantsTheTimerWhileJobsWait) {
    Sim s;
    Policy p;
    uint64_t a = s.spawn("cc1plus", 300 * MiB);
    s.spawn("cc1plus", 500 * MiB);
    EXPECT_FALSE(p.wants_timer(s.tree));
    s.tree.set_state(a, JobState::Held, s.now);
    EXPECT_TRUE(p.wants_timer(s.tree));
}

// History: a job's predicted peak, its run time and when its peak came.
namespace {
uint64_t predicted(Sim& s, const std::string& name, uint64_t rss, uint64_t peak, double peak_at_s, double run_s = 10) {
    uint64_t id = s.spawn(name, rss);
    s.tree.set_prediction(id, peak, run_s, peak_at_s, 3);
    return id;
}
}  // namespace

TEST(PolicyWithHistory, APredictedBigJobIsHeldAtExecWhenItsPeakCannotFit) {
    Sim s;
    Policy p;
    uint64_t head = predicted(s, "ld", 400 * MiB, 1000 * MiB, 2);
    s.prime(p);
    s.advance(1);
    uint64_t big = predicted(s, "cc1plus", 0, 900 * MiB, 0.5);
    auto acts = s.decide(p, view(1100 * MiB));
    const Action* hold = find(acts, ActionType::Hold, big);
    ASSERT_TRUE(hold) << "900M cannot fit beside the head's 600M to go in 1100M";
    EXPECT_TRUE(contains(hold->reason, "predictions")) << hold->reason;
    EXPECT_EQ(hold->rule, Rule::HoldMemory) << hold->reason;
    EXPECT_TRUE(contains(hold->reason, "(predicted peak 900M from 3 runs)")) << hold->reason;
    EXPECT_EQ(s.running(), std::vector<uint64_t>{head});
}

TEST(PolicyWithHistory, APredictedSmallJobRunsWhereAnUnknownOneIsHeld) {
    Sim s;
    Policy p;
    predicted(s, "ld", 950 * MiB, 1000 * MiB, 2);  // near its peak: 50M to go
    s.prime(p);
    s.advance(1);
    uint64_t small = predicted(s, "cc1", 0, 24 * MiB, 0.2);
    uint64_t unknown = s.spawn("cc1");
    auto acts = s.decide(p, view(170 * MiB));  // below the resume mark 192M
    EXPECT_FALSE(find(acts, ActionType::Hold, small))
        << "170M - 50M - 24M stays above the low mark 64M and an RSS step (16M)";
    const Action* hold = find(acts, ActionType::Hold, unknown);
    ASSERT_TRUE(hold) << "without history it waits for the resume mark";
    EXPECT_TRUE(contains(hold->reason, "(no prediction)")) << hold->reason;
}

// The case a reactive policy loses: two late links stopped while small and
// flat look alike; by history only one of them fits at a time.
TEST(PolicyWithHistory, TwoStoppedBigLinksResumeOneAtATime) {
    Sim s;
    Policy p;
    s.spawn("cc1plus", 200 * MiB);
    uint64_t a = predicted(s, "ld", 96 * MiB, 900 * MiB, 0);
    uint64_t b = predicted(s, "ld", 96 * MiB, 900 * MiB, 0);
    s.prime(p);
    s.tree.set_state(a, JobState::Stopped, s.now);
    s.tree.set_state(b, JobState::Stopped, s.now);
    std::vector<uint64_t> resumed;
    for (int i = 0; i < 100; i++) {  // 10 s with 1100M of headroom
        s.advance(0.1);
        for (const Action& act : s.decide(p, view(1100 * MiB))) {
            ASSERT_EQ(act.type, ActionType::Resume) << act.reason;
            EXPECT_TRUE(contains(act.reason, "by its prediction")) << act.reason;
            EXPECT_EQ(act.rule, Rule::Resume) << act.reason;
            resumed.push_back(act.job);
        }
    }
    EXPECT_EQ(resumed.size(), 1u) << "804M to go each: only one fits in 1100M above the low mark";
}

TEST(PolicyWithHistory, OfTwoPeaksThatWouldMeetTheLaterOneWaits) {
    Sim s;
    Policy p;
    uint64_t a = predicted(s, "clang", 100 * MiB, 1000 * MiB, 10);
    s.advance(0.5);
    uint64_t b = predicted(s, "opt", 90 * MiB, 900 * MiB, 10);
    s.prime(p);  // both peaks are far ahead: both run
    EXPECT_EQ(s.running().size(), 2u);
    s.advance(2);  // now both are due within the lead
    auto acts = s.decide(p, view(1300 * MiB));
    const Action* stop = find(acts, ActionType::Stop, b);
    ASSERT_TRUE(stop) << "900M + 810M to go do not fit in 1300M";
    EXPECT_TRUE(contains(stop->reason, "due last")) << stop->reason;
    EXPECT_EQ(stop->rule, Rule::StopPeaks) << stop->reason;
    EXPECT_FALSE(find(acts, ActionType::Stop, a));
}

// A stopped job that was paged out looks small; what it swapped out comes
// back when it runs, so it counts before it is resumed.
TEST(Policy, APagedOutJobNeedsRoomForItsSwapBeforeItResumes) {
    Sim s;
    Policy p;
    s.spawn("cc1plus", 800 * MiB);
    uint64_t out = s.spawn("cc1plus", 600 * MiB);
    s.prime(p);
    s.tree.set_state(out, JobState::Stopped, s.now);
    s.tree.apply(RssEvent{s.now, s.pid_of(out), 30 * MiB, 30 * MiB, 0, 0, 570 * MiB, 600 * MiB});
    ASSERT_EQ(s.job(out).swap, 570 * MiB);
    auto resumed = run_for(s, p, view(400 * MiB), 5);
    EXPECT_TRUE(resumed.empty()) << "570M to swap back in does not fit in 400M";
    resumed = run_for(s, p, view(900 * MiB), 5);
    ASSERT_EQ(resumed.size(), 1u);
    EXPECT_EQ(resumed[0].second, out);
}

// ---- CPU as a resource of the pipeline ----

namespace {
PolicyConfig two_cpus() {
    PolicyConfig c;
    c.cpus = 2;
    return c;
}

// Two 200M compilers run on two CPUs; c has just exec'd.
struct TwoCompilersOnTwoCpus {
    Sim s;
    Policy p{two_cpus()};
    uint64_t a = 0, b = 0, c = 0;
    TwoCompilersOnTwoCpus() {
        a = s.spawn("cc1plus", 200 * MiB);
        b = s.spawn("cc1plus", 200 * MiB);
        s.prime(p);
        c = s.spawn("cc1plus");
    }
};
}  // namespace

// Two compilers keep both CPUs busy: a third would only wait for a CPU, so it
// waits held at exec, where it strands nothing.
TEST(Policy, AJobBeyondTheBusyCpusIsHeldAtExec) {
    TwoCompilersOnTwoCpus f;
    auto acts = f.s.decide(f.p, view(1 * GiB), {}, {{f.a, 1.0}, {f.b, 0.98}});
    ASSERT_TRUE(find(acts, ActionType::Hold, f.c));
    EXPECT_TRUE(contains(acts.back().reason, "CPUs are busy")) << acts.back().reason;
    EXPECT_EQ(acts.back().rule, Rule::HoldCpu) << acts.back().reason;
}

// Jobs whose work is elsewhere (distcc clients) use little CPU here: a new job
// starts beside them. A job not measured yet counts as one CPU.
TEST(Policy, JobsThatUseLittleCpuHereLeaveRoomForMore) {
    Sim s;
    Policy p(two_cpus());
    uint64_t a = s.spawn("distcc", 20 * MiB), b = s.spawn("distcc", 20 * MiB);
    s.prime(p);
    uint64_t c = s.spawn("distcc");
    EXPECT_TRUE(s.decide(p, view(1 * GiB), {}, {{a, 0.05}, {b, 0.1}}).empty());
    uint64_t d = s.spawn("distcc");
    // a, b and c measured; d not yet: 0.05 + 0.1 + 0.9 and d's own CPU
    EXPECT_TRUE(s.decide(p, view(1 * GiB), {}, {{a, 0.05}, {b, 0.1}, {c, 0.9}}).empty()) << d;
    uint64_t e = s.spawn("distcc");
    EXPECT_TRUE(find(s.decide(p, view(1 * GiB), {}, {{a, 0.05}, {b, 0.1}, {c, 0.9}}), ActionType::Hold, e));
}

// A job held only for a CPU starts once one is free, without the settling
// that resumes after a memory shortage wait for.
TEST(Policy, AJobHeldForACpuStartsAsSoonAsOneIsFree) {
    TwoCompilersOnTwoCpus f;
    ASSERT_TRUE(find(f.s.decide(f.p, view(1 * GiB), {}, {{f.a, 1.0}, {f.b, 1.0}}), ActionType::Hold, f.c));
    f.s.advance(0.05);
    EXPECT_TRUE(f.s.decide(f.p, view(1 * GiB), {}, {{f.a, 1.0}, {f.b, 1.0}}).empty());
    f.s.finish(f.a);
    f.s.advance(0.01);
    auto acts = f.s.decide(f.p, view(1 * GiB), {}, {{f.b, 1.0}});
    ASSERT_EQ(acts.size(), 1u);
    EXPECT_EQ(acts[0].type, ActionType::Resume);
    EXPECT_EQ(acts[0].job, f.c);
}

// However plentiful memory looks, a job without a prediction waits while the
// CPUs are busy: beyond the CPUs it only adds memory, which a stop later
// strands (real json3 curves in the simulator, 1600 MiB -j8: an OOM kill when
// plentiful memory let four start on two CPUs; none without). A job using
// little CPU (x: I/O, a remote compiler) leaves room, and a job held only for
// a CPU starts once one is free.
TEST(Policy, PlentifulMemoryDoesNotLetJobsStartBeyondTheCpus) {
    Sim s;
    Policy p(two_cpus());
    uint64_t x = s.spawn("as", 10 * MiB);
    ASSERT_TRUE(s.decide(p, view(8 * GiB)).empty());
    uint64_t a = s.spawn("cc1plus", 100 * MiB);
    ASSERT_TRUE(s.decide(p, view(8 * GiB), {}, {{x, 0.0}}).empty());
    uint64_t b = s.spawn("cc1plus", 100 * MiB);
    ASSERT_TRUE(s.decide(p, view(8 * GiB), {}, {{x, 0.0}, {a, 1.0}}).empty());
    uint64_t c = s.spawn("cc1plus");
    ASSERT_TRUE(find(s.decide(p, view(8 * GiB), {}, {{a, 1.0}, {b, 1.0}, {x, 0.0}}), ActionType::Hold, c));
    s.finish(x);
    s.advance(0.01);
    uint64_t d = s.spawn("cc1plus");
    auto acts = s.decide(p, view(8 * GiB), {}, {{a, 1.0}, {b, 1.0}});
    EXPECT_TRUE(find(acts, ActionType::Hold, d)) << "a job has ended and memory is plentiful: still no CPU";
    EXPECT_FALSE(find(acts, ActionType::Resume, c));
    s.finish(b);
    s.advance(0.01);
    acts = s.decide(p, view(8 * GiB), {}, {{a, 1.0}});
    EXPECT_TRUE(find(acts, ActionType::Resume, c)) << "a CPU is free: the job held for it starts at once";
}

// The OOM kill seen in CI: a running compiler's RSS stays flat for seconds
// (no growth, so no projection), and a job held at exec (RSS ~0) was resumed
// with "room to grow to 0M"; both then grew. A job that has not run yet needs
// room for the largest peak of the build so far.
TEST(Policy, AHeldJobNeedsRoomForTheBuildsLargestPeak) {
    Sim s;
    Policy p;
    uint64_t a = s.spawn("cc1plus", 50 * MiB);
    s.prime(p);
    s.ramp({{a, 100.0 * MiB}}, 2.5);  // a: ~300M, then flat
    uint64_t b = s.spawn("cc1plus");
    ASSERT_TRUE(find(s.decide(p, view(150 * MiB)), ActionType::Hold, b));
    s.advance(2);  // a's growth goes stale: the projection sees nothing coming
    const int64_t largest = int64_t(s.job(a).peak);
    // room for the projection and the marks, not for b to grow as a did
    EXPECT_TRUE(run_for(s, p, view(kHigh + largest / 2), 3).empty());
    auto r = run_for(s, p, view(kLow + largest + 20 * MiB + int64_t(s.job(a).rss)), 2);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].second, b);
}

// A job whose predicted peak does not fit beside the others' may run while it
// is small, on a budget: what is left once every other running job has
// reached its predicted peak. It stops once, before it holds more than that,
// waits while the head grows to its peak, and resumes when the head has ended.
TEST(PolicyWithHistory, AJobWhosePeakDoesNotFitRunsOnABudgetAndStopsOnce) {
    Sim s;
    Policy p(two_cpus());
    uint64_t head = predicted(s, "ld", 400 * MiB, 1000 * MiB, 2);  // 600M to go
    s.prime(p);
    s.advance(1);
    uint64_t big = predicted(s, "cc1plus", 0, 900 * MiB, 5);
    const int64_t free0 = 1100 * MiB;  // the budget: 1100 - 64 (low mark) - 600 = 436M
    auto acts = s.decide(p, view(free0), {}, {{head, 1.0}});
    ASSERT_TRUE(acts.empty()) << acts[0].reason;
    ASSERT_EQ(s.job(big).state, JobState::Running);
    const Action* stop = nullptr;
    for (int i = 0; i < 200 && !stop; i++) {  // it grows 50M/s; the head is flat
        s.ramp({{big, 50.0 * MiB}}, 0.1);
        acts = s.decide(p, view(free0 - int64_t(s.job(big).rss)), {}, {{head, 1.0}, {big, 1.0}});
        for (const Action& a : acts) EXPECT_TRUE(a.type == ActionType::Stop && a.job == big) << a.reason;
        stop = find(acts, ActionType::Stop, big);
    }
    ASSERT_TRUE(stop) << "it ran past its budget";
    EXPECT_TRUE(contains(stop->reason, "budget ran out")) << stop->reason;
    EXPECT_EQ(stop->rule, Rule::BudgetEnd) << stop->reason;
    const int64_t held = int64_t(s.job(big).rss);
    EXPECT_LE(held, 436 * MiB) << "it holds more than the head's peak leaves";
    EXPECT_GE(held, 300 * MiB) << "it stopped long before its budget ran out";
    EXPECT_TRUE(run_for(s, p, view(free0 - held), 5).empty()) << "resumed before its whole peak fits";
    s.finish(head);
    auto r = run_for(s, p, view(free0 + 400 * MiB - held), 2);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].second, big);
}

// No budget without a whole free CPU (it would only slow the jobs whose ends
// it waits for), nor while a stopped job waits (one stranding job at a time,
// so the running jobs, then it, can always finish).
TEST(PolicyWithHistory, NoBudgetWithoutAFreeCpuOrWhileAJobIsStopped) {
    for (bool cpu_free : {false, true}) {
        Sim s;
        Policy p(two_cpus());
        uint64_t head = predicted(s, "ld", 400 * MiB, 1000 * MiB, 2);
        uint64_t other = predicted(s, "cc1", 40 * MiB, 60 * MiB, 2);
        s.prime(p);
        if (cpu_free) {
            s.tree.set_state(other, JobState::Stopped, s.now);  // stopped, it holds 40M
        }
        s.advance(1);
        uint64_t big = predicted(s, "cc1plus", 0, 900 * MiB, 5);
        auto acts = s.decide(p, view(1100 * MiB), {}, {{head, 1.0}, {other, 1.0}});
        const Action* hold = find(acts, ActionType::Hold, big);
        ASSERT_TRUE(hold) << (cpu_free ? "ran on a budget while a job was stopped" : "ran on a budget without a CPU");
        EXPECT_TRUE(contains(hold->reason, "predictions")) << hold->reason;
        EXPECT_EQ(hold->rule, Rule::HoldMemory) << hold->reason;
    }
}

// While a stopped job waits, a new job is judged like any other even when no
// other job runs: the stopped one resumes first, rather than a new one
// growing beside what it strands.
TEST(PolicyWithHistory, ANewJobDoesNotRunAheadOfAStoppedOne) {
    Sim s;
    Policy p(two_cpus());
    uint64_t stopped = predicted(s, "cc1plus", 460 * MiB, 900 * MiB, 5);
    s.prime(p);
    s.tree.set_state(stopped, JobState::Stopped, s.now);
    s.advance(1);
    uint64_t fresh = predicted(s, "ld", 0, 1200 * MiB, 5);
    auto acts = s.decide(p, view(1100 * MiB));
    EXPECT_TRUE(find(acts, ActionType::Hold, fresh)) << "its peak does not fit beside what the stopped job holds";
    const Action* resume = find(acts, ActionType::Resume, stopped);
    ASSERT_TRUE(resume);
    EXPECT_TRUE(contains(resume->reason, "no job is running")) << resume->reason;
    EXPECT_EQ(resume->rule, Rule::OneRuns) << resume->reason;
}

// Held jobs resume oldest first, where a job predicted to run s seconds
// counts as s seconds older: of two that start together the longer goes
// first; a short job held long before is not passed over by a longer one
// that came after it.
TEST(PolicyWithHistory, HeldJobsResumeOldestFirstWithAHeadStartForLongOnes) {
    for (double apart : {0.1, 10.0}) {
        Sim s;
        Policy p;
        predicted(s, "ld", 400 * MiB, 1000 * MiB, 2);
        s.prime(p);
        uint64_t short_job = predicted(s, "cc1", 0, 100 * MiB, 0.5, 1);
        ASSERT_TRUE(find(s.decide(p, view(650 * MiB)), ActionType::Hold, short_job));  // 650 - 600: no room
        s.advance(apart);
        uint64_t long_job = predicted(s, "cc1plus", 0, 100 * MiB, 3, 5);
        ASSERT_TRUE(find(s.decide(p, view(650 * MiB)), ActionType::Hold, long_job));
        auto r = run_for(s, p, view(900 * MiB), 1);  // room for one
        ASSERT_EQ(r.size(), 1u);
        EXPECT_EQ(r[0].second, apart < 4 ? long_job : short_job) << apart << " s apart";
    }
}

// A job whose past runs were all killed has no prediction, but it will reach
// at least what they reached: it starts only with room for that much.
TEST(PolicyWithHistory, AJobWhoseRunsWereKilledNeedsRoomForWhatTheyReached) {
    for (bool killed_before : {false, true}) {
        Sim s;
        Policy p;
        uint64_t head = s.spawn("cc1plus", 300 * MiB);
        s.prime(p);
        s.advance(1);
        uint64_t again = s.spawn("cc1plus");
        if (killed_before) s.tree.set_prediction(again, 900 * MiB, 30, 29, 1, /*at_least=*/true);
        auto acts = s.decide(p, view(900 * MiB));  // room for a job of the typical 300M, not for 900M
        const Action* hold = find(acts, ActionType::Hold, again);
        if (!killed_before) {
            EXPECT_FALSE(hold) << hold->reason;
            continue;
        }
        ASSERT_TRUE(hold);
        EXPECT_TRUE(contains(hold->reason, "what its killed runs reached (900M)")) << hold->reason;
        EXPECT_TRUE(contains(hold->reason, "(no prediction: its past runs were killed at up to 900M)")) << hold->reason;
        (void)head;
    }
}

// No budget beside a running job without a prediction: the budget is what
// the others' predicted peaks leave, and a guess at an unknown job's peak
// (its killed runs' lower bound, the build's typical peak) does not bound it.
TEST(PolicyWithHistory, NoBudgetBesideAJobWithoutAPrediction) {
    Sim s;
    Policy p(two_cpus());
    uint64_t head = s.spawn("cc1plus", 400 * MiB);
    s.tree.set_prediction(head, 1000 * MiB, 30, 29, 1, /*at_least=*/true);  // killed at 1000M before
    s.prime(p);
    s.advance(1);
    uint64_t big = predicted(s, "cc1plus", 0, 900 * MiB, 5);
    auto acts = s.decide(p, view(1100 * MiB), {}, {{head, 1.0}});
    const Action* hold = find(acts, ActionType::Hold, big);
    ASSERT_TRUE(hold) << "ran on a budget beside a job whose peak is only a lower bound";
    EXPECT_TRUE(contains(hold->reason, "predictions")) << hold->reason;
    EXPECT_EQ(hold->rule, Rule::HoldMemory) << hold->reason;
}

// Decides every 0.1 s for up to 2 s; the first resume, if any.
std::optional<Action> first_resume(Sim& s, Policy& p, const MemoryView& mem,
                                   const std::map<uint64_t, double>& cpu_use = {}) {
    for (int i = 0; i < 20; i++) {
        s.advance(0.1);
        for (const Action& a : s.decide(p, mem, {}, cpu_use))
            if (a.type == ActionType::Resume) return a;
    }
    return std::nullopt;
}

TEST(PolicyRules, EachHasItsOwnStableName) {
    std::set<std::string> names;
    for (int r = int(Rule::RunNow); r <= int(Rule::RunOnBudget); r++) {
        std::string name = rule_name(Rule(r));
        EXPECT_NE(name, "?");
        EXPECT_TRUE(names.insert(name).second) << name << " twice";
        EXPECT_EQ(rule_from_name(name), Rule(r)) << name;
    }
    EXPECT_STREQ(rule_name(Rule::Deadlock), "deadlock");
    EXPECT_STREQ(rule_name(Rule::HoldCpu), "hold_cpu");
    EXPECT_EQ(rule_from_name("a rule from a later version"), std::nullopt);
}

// The controller counts deadlock resumes by the rule; a reason's words do not count.
TEST(PolicyRules, DeadlockResumesAreCountedByTheRule) {
    ActionCounts c;
    c.count({ActionType::Resume, 1, "deadlock guard: all 2 running jobs made no progress", Rule::Deadlock});
    c.count({ActionType::Resume, 2, "deadlock guard, as a reason's words", Rule::Resume});
    c.count({ActionType::Stop, 3, "deadlock", Rule::StopProjection});
    c.count({ActionType::Hold, 4, "held at exec", Rule::HoldCpu});
    EXPECT_EQ(c.resumes, 2u);
    EXPECT_EQ(c.deadlock_resumes, 1u);
    EXPECT_EQ(c.stops, 1u);
    EXPECT_EQ(c.holds, 1u);
}

TEST(PolicyRules, ANewJobIsHeldForPressureWhenMemoryIsPlentiful) {
    Sim s;
    Policy p;
    s.spawn("ld", 800 * MiB);
    uint64_t a = s.spawn("cc1plus", 300 * MiB);
    s.prime(p);
    s.advance(1);
    s.faults(a, 2500);
    uint64_t b = s.spawn("cc1");
    auto acts = s.decide(p, view(4 * GiB));
    const Action* hold = find(acts, ActionType::Hold, b);
    ASSERT_TRUE(hold);
    EXPECT_EQ(hold->rule, Rule::HoldPressure) << hold->reason;
    const Action* stop = find(acts, ActionType::Stop, a);
    ASSERT_TRUE(stop);
    EXPECT_EQ(stop->rule, Rule::StopPressure) << stop->reason;
}

TEST(PolicyRules, AJobHeldForMemoryResumesOnceHeadroomSettles) {
    Sim s;
    Policy p;
    s.spawn("ld", 400 * MiB);
    s.prime(p);
    s.advance(1);
    uint64_t b = s.spawn("cc1");
    auto acts = s.decide(p, view(150 * MiB));
    ASSERT_TRUE(find(acts, ActionType::Hold, b));
    EXPECT_EQ(find(acts, ActionType::Hold, b)->rule, Rule::HoldMemory);
    std::optional<Action> resume = first_resume(s, p, view(2 * GiB));
    ASSERT_TRUE(resume);
    EXPECT_EQ(resume->job, b);
    EXPECT_EQ(resume->rule, Rule::Resume) << resume->reason;
}

// Held while no CPU was free for a budget; once one is, it resumes on a budget.
TEST(PolicyRules, AHeldJobWhosePeakDoesNotFitResumesOnABudget) {
    Sim s;
    Policy p(two_cpus());
    uint64_t head = predicted(s, "ld", 400 * MiB, 1000 * MiB, 2);
    uint64_t other = predicted(s, "cc1", 40 * MiB, 60 * MiB, 2);
    s.prime(p);
    s.advance(1);
    uint64_t big = predicted(s, "cc1plus", 0, 900 * MiB, 5);
    auto acts = s.decide(p, view(1100 * MiB), {}, {{head, 1.0}, {other, 1.0}});
    ASSERT_TRUE(find(acts, ActionType::Hold, big));
    s.finish(other);
    std::optional<Action> resume = first_resume(s, p, view(1100 * MiB), {{head, 1.0}});
    ASSERT_TRUE(resume);
    EXPECT_EQ(resume->job, big);
    EXPECT_EQ(resume->rule, Rule::RunOnBudget) << resume->reason;
}
