// The policy replayed over real recordings of the demo fake build
// (tests/fakebuild/Makefile.demo, -j4):
//   demo-j4-1100M.jsonl  under the controller in a 1100M memory cgroup, with
//                        its memory lines (headroom, scale, PSI);
//   demo-j4-plain.jsonl  traced only, nobody stopping anything: replayed with
//                        a synthesized budget of 1100 MiB.
// The recorded events go on after a replayed stop, so these check invariants
// of every decision, not the outcome of the build.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>

#include "build_sim.hpp"
#include "policy_harness.hpp"

using namespace swamp;
using namespace swamp::test;

namespace {

const Fixture& controlled() {
    static const Fixture fx = load_fixture(fixture_path("demo-j4-1100M.jsonl"));
    return fx;
}
const Fixture& plain() {
    static const Fixture fx = load_fixture(fixture_path("demo-j4-plain.jsonl"));
    return fx;
}

std::string secs(uint64_t ns, const Fixture& fx) {
    char buf[32];
    snprintf(buf, sizeof buf, "t=%.3fs", (ns - std::min(ns, fx.start_ns.value_or(0))) / 1e9);
    return buf;
}

std::string describe(const ReplayRun& run, const Fixture& fx) {
    std::string s;
    for (const ActionRecord& a : run.actions) {
        s += "  " + secs(a.ts_ns, fx) + " " + action_name(a.type) + " job " + std::to_string(a.job) + " (" +
             run.names.at(a.job) + "): " + a.reason + "\n";
    }
    return s;
}

// The invariants every replay must keep. At most a few messages per kind.
void check_invariants(const Fixture& fx, const ReplayRun& run, const HarnessOptions& o) {
    const PolicyConfig& cfg = o.policy;
    std::map<std::string, int> failures;
    auto fail = [&](const std::string& kind, const std::string& msg) {
        if (failures[kind]++ < 5) ADD_FAILURE() << kind << ": " << msg;
    };

    for (size_t i = 0; i < run.points.size(); i++) {
        const DecisionPoint& p = run.points[i];
        const std::string at = secs(p.ts_ns, fx) + (p.from_timer ? " (timer)" : "");
        // the head never waits
        if (p.head) {
            for (const Action& a : p.actions)
                if (a.job == *p.head && a.type != ActionType::Resume)
                    fail("head stopped", at + ": " + action_name(a.type) + " of head job " + std::to_string(a.job) +
                                             ": " + a.reason);
            if (std::find(p.running_after.begin(), p.running_after.end(), *p.head) == p.running_after.end())
                fail("head not running", at + ": job " + std::to_string(*p.head));
        }
        // at least one job always runs
        if (!p.jobs.empty() && p.running_after.empty())
            fail("no job running", at + ": " + std::to_string(p.waiting_after.size()) + " jobs wait");
        for (const Action& a : p.actions)
            if (a.reason.empty()) fail("no reason", at + ": " + action_name(a.type) + " job " + std::to_string(a.job));

        // resumes: in order of investment among the jobs eligible right now
        std::set<uint64_t> stopped_now;
        for (const Action& a : p.actions)
            if (a.type != ActionType::Resume) stopped_now.insert(a.job);
        // the policy's projection: each running job's horizon of growth, and
        // while it grows at least growth_reserve × its RSS
        double projected = double(p.mem.headroom);
        for (uint64_t id : p.running) {
            if (stopped_now.count(id)) continue;
            const JobSnap& j = p.jobs.at(id);
            double g = std::max(0.0, j.growth) * cfg.horizon_s;
            projected -= j.growth < cfg.min_growth ? g : std::max(g, cfg.growth_reserve * double(j.rss));
        }
        for (const Action& a : p.actions) {
            if (a.type != ActionType::Resume) continue;
            const JobSnap& r = p.jobs.at(a.job);
            if (r.state == JobState::Running) fail("resume of a running job", at + ": job " + std::to_string(a.job));
            bool any = a.rule == Rule::OneRuns || a.rule == Rule::Deadlock;
            // room to grow: a held job to twice its size above the high mark, a stopped
            // one as the stop rule projects it (a horizon of its growth when stopped,
            // and if it grew, its RSS once more; at least 16M) above the low mark
            auto fits_with = [&](const JobSnap& w, double margin) {
                if (w.state == JobState::Held) return projected + margin >= double(p.high) + double(w.rss);
                double g = w.growth_at_stop;
                double regrowth = g < cfg.min_growth ? g * cfg.horizon_s
                                                     : std::max(g * cfg.horizon_s, cfg.growth_reserve * double(w.rss));
                double room = std::max(regrowth, 16.0 * (1 << 20));
                return projected + margin - room >= double(p.low);
            };
            const double margin = 16.0 * (1 << 20);  // peaks between decision points
            for (uint64_t id : p.waiting) {
                if (id == a.job) break;  // the ones before it are more invested
                const JobSnap& w = p.jobs.at(id);
                // (a finished job makes a stopped one eligible only where the build's
                // typical peak leaves room for it, which this check does not model)
                bool eligible = any || fits_with(w, -margin);
                if (eligible)
                    fail("resume order", at + ": resumed job " + std::to_string(a.job) + " (" +
                                             std::to_string(r.rss >> 20) + "M) before eligible job " +
                                             std::to_string(id) + " (" + std::to_string(w.rss >> 20) + "M): " +
                                             a.reason);
            }
            if (!any) {
                bool eligible = !r.ever_stopped || p.jobs_ended > r.jobs_ended_at_stop ||
                                fits_with(r, margin);
                if (!eligible) fail("ineligible resume", at + ": job " + std::to_string(a.job) + ": " + a.reason);
                if (p.mem.headroom < int64_t(p.high))
                    fail("resume below the high mark", at + ": job " + std::to_string(a.job));
            }
        }
    }

    std::map<uint64_t, std::vector<const ActionRecord*>> stops;
    for (const ActionRecord& a : run.actions) {
        if (a.type == ActionType::Resume) continue;
        const DecisionPoint& p = run.points[a.point];
        // a hold happens at exec: right when the job appears
        if (a.type == ActionType::Hold) {
            uint64_t first = run.first_seen_ns.at(a.job);
            if (a.ts_ns > first + o.timer_ns + o.batch_ns)
                fail("late hold", secs(a.ts_ns, fx) + ": job " + std::to_string(a.job) + " appeared at " +
                                      secs(first, fx));
        }
        // at most max_stops_per_min per job in any 60 s window (critical memory may override)
        auto& list = stops[a.job];
        int recent = std::count_if(list.begin(), list.end(),
                                   [&](const ActionRecord* s) { return a.ts_ns - s->ts_ns < 60'000'000'000ull; });
        if (recent >= cfg.max_stops_per_min && !p.critical())
            fail("stops per minute", secs(a.ts_ns, fx) + ": job " + std::to_string(a.job) + " stopped " +
                                         std::to_string(recent + 1) + " times within 60 s");
        list.push_back(&a);
    }
    for (const auto& [kind, n] : failures)
        if (n > 5) ADD_FAILURE() << kind << ": " << n - 5 << " more";
    if (!failures.empty()) ADD_FAILURE() << "actions:\n" << describe(run, fx);
}

struct Case {
    const char* name;
    bool plain;
    uint64_t batch_ns;
};

class FixtureReplay : public ::testing::TestWithParam<Case> {
protected:
    const Fixture& fx() const { return GetParam().plain ? plain() : controlled(); }
    HarnessOptions options() const {
        HarnessOptions o;
        if (GetParam().plain) o.budget = 1100 * MiB;
        o.batch_ns = GetParam().batch_ns;
        return o;
    }
};

}  // namespace

TEST(FixtureFiles, LoadWithTheirMemoryLines) {
    const Fixture& c = controlled();
    EXPECT_GT(c.root_pid, 0u);
    ASSERT_TRUE(c.start_ns);
    EXPECT_GT(c.events(), 500u);
    EXPECT_GT(c.memory_lines(), 50u);
    EXPECT_FALSE(c.decisions.empty());
    for (const auto& d : c.decisions) EXPECT_FALSE(d.reason.empty());
    for (const auto& l : c.lines)
        if (l.memory) {
            EXPECT_EQ(l.memory->scale, 1100 * MiB);  // the cgroup's limit
            EXPECT_LE(l.memory->headroom, int64_t(1100 * MiB));
        }
    // file order is kept
    for (size_t i = 1; i < c.lines.size(); i++) EXPECT_LT(c.lines[i - 1].line, c.lines[i].line);

    const Fixture& p = plain();
    EXPECT_GT(p.root_pid, 0u);
    EXPECT_GT(p.events(), 500u);
    EXPECT_EQ(p.memory_lines(), 0u);
    EXPECT_TRUE(p.decisions.empty());
}

TEST(FixtureFiles, ReplayBuildsTheSixteenJobsOfTheDemo) {
    for (const Fixture* fx : {&controlled(), &plain()}) {
        SCOPED_TRACE(fx->name);
        HarnessOptions o;
        o.budget = 100 * GiB;  // nothing binds
        ReplayRun run = replay(*fx, o);
        EXPECT_EQ(run.first_seen_ns.size(), 16u);
        EXPECT_EQ(run.jobs_ended, 16u);
        EXPECT_EQ(run.events, fx->events());
        EXPECT_TRUE(run.actions.empty()) << describe(run, *fx);
        size_t hogs = 0;
        for (const auto& [id, name] : run.names) hogs += name == "hog";
        EXPECT_EQ(hogs, 16u);
        // the two links come last and are the biggest
        uint64_t peak = 0;
        for (const auto& p : run.points)
            for (const auto& [id, j] : p.jobs) peak = std::max(peak, j.rss);
        EXPECT_GT(peak, 600 * MiB);
    }
}

TEST_P(FixtureReplay, DecisionsKeepTheInvariants) {
    HarnessOptions o = options();
    ReplayRun run = replay(fx(), o);
    if (o.batch_ns == 0) {
        ASSERT_GE(run.points.size(), fx().events());  // one per event, plus timers
    }
    ASSERT_GT(run.points.size(), 100u);
    EXPECT_EQ(run.first_seen_ns.size(), 16u);
    check_invariants(fx(), run, o);
    // the budget binds: the plain build peaks at ~1370M unlimited
    EXPECT_GT(run.count(ActionType::Stop) + run.count(ActionType::Hold), 0u) << describe(run, fx());
    // and what waits comes back: every job ran to its end in the recording
    RecordProperty("actions", describe(run, fx()));
    if (std::getenv("SWAMP_HARNESS_VERBOSE")) std::cout << describe(run, fx());
}

INSTANTIATE_TEST_SUITE_P(Demo, FixtureReplay,
                         ::testing::Values(Case{"controlled_each_event", false, 0},
                                           Case{"controlled_batched_200ms", false, 200'000'000},
                                           Case{"plain_1100M_each_event", true, 0},
                                           Case{"plain_1100M_batched_200ms", true, 200'000'000}),
                         [](const auto& info) { return std::string(info.param.name); });

// The replay decides like the live controller did: the first stop for memory
// comes at about the time the recording made it.
TEST(FixtureFiles, ReplayOfTheControlledRunStopsWhenTheControllerDid) {
    const Fixture& fx = controlled();
    const RecordedDecision* first = nullptr;
    for (const auto& d : fx.decisions)
        if (d.action == "stop") {
            first = &d;
            break;
        }
    ASSERT_TRUE(first);
    HarnessOptions recorded;  // the configuration the fixture was recorded with
    recorded.policy.horizon_s = 2.0;
    ReplayRun run = replay(fx, recorded);
    const ActionRecord* mine = nullptr;
    for (const auto& a : run.actions) {
        if (a.type == ActionType::Stop) {
            mine = &a;
            break;
        }
    }
    ASSERT_TRUE(mine) << describe(run, fx);
    double diff = (double(mine->ts_ns) - double(first->ts_ns)) / 1e9;
    EXPECT_LT(std::abs(diff), 0.5) << "recorded " << secs(first->ts_ns, fx) << ", replayed " << secs(mine->ts_ns, fx)
                                   << "\n"
                                   << describe(run, fx);
    EXPECT_EQ(mine->rule, Rule::StopProjection) << mine->reason;
}

// A tighter budget makes the policy work harder, still within the rules.
TEST(FixtureFiles, PlainRunUnderTighterBudgets) {
    for (uint64_t budget : {800 * MiB, 1000 * MiB, 1400 * MiB}) {
        SCOPED_TRACE(std::to_string(budget >> 20) + "M");
        HarnessOptions o;
        o.budget = budget;
        ReplayRun run = replay(plain(), o);
        check_invariants(plain(), run, o);
        if (budget < 1300 * MiB) {
            EXPECT_GT(run.count(ActionType::Stop) + run.count(ActionType::Hold), 0u);
        }
    }
}
