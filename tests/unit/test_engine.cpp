// The engine's whole loop without root: a build run through the engine with a
// recording actuator, recorded as --record writes it (events and each
// decision's input), then replayed from the recording by ReplaySource into a
// fresh engine: the same actions, at the same times, for the same reasons.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "build_sim.hpp"
#include "cli/commands.hpp"
#include "util/error.hpp"
#include "engine/engine.hpp"
#include "engine/recording.hpp"
#include "source/event_json.hpp"
#include "source/replay_source.hpp"
#include "trace/printer.hpp"
#include "util/json_line.hpp"

namespace swamp::test {
namespace {

// Stands in for the actuator: notes what it was asked to do, as one line each.
struct RecordingActuator {
    std::vector<std::string> log;
    CarryOut carry_out(const uint64_t& now) {
        return [this, &now](const Action& a, const Job& j) {
            log.push_back(std::to_string(now) + " " + action_name(a.type) + " " + std::to_string(a.job) + " " + j.name +
                          ": " + a.reason);
            return true;
        };
    }
};

// A live run: events go into the engine and into the recording, as the
// controller's printer writes them; each decision's input is recorded by the engine.
class LiveRun {
public:
    explicit LiveRun(PolicyConfig cfg = {}) : engine(TreeConfig{}, cfg) {
        rec << record_start_line(now, 1) << '\n';
        rec << json_line(settings_json({cfg, {}, {}})) << '\n';
        engine.tree().add_root(1, 0, "root", now);
        engine.on_input([this](const DecisionInput& in) { rec << json_line(input_json(in)) << '\n'; });
    }

    void event(const Event& e) {
        if (const auto* x = std::get_if<ExecEvent>(&e)) comms[x->pid] = x->comm;
        if (const auto* f = std::get_if<ForkEvent>(&e)) comms[f->pid] = f->comm;
        rec << json_line(event_to_json(e, 0, comms[event_pid(e)])) << '\n';  // as the printer names pids
        engine.apply(e);
    }
    uint64_t spawn(const std::string& name) {
        uint32_t pid = next_pid++;
        event(fork_ev(now, pid, 1, "make"));
        event(exec_ev(now, pid, 1, name, {name, "-c", name + std::to_string(pid) + ".c"}));
        pids.push_back(pid);
        return pid;
    }
    // One decision, from an event batch or the timer; `blocked`: what the deadlock guard would see.
    void decide(bool from_timer, std::set<uint64_t> blocked = {}) {
        MemoryView mem = view(int64_t(budget) - int64_t(engine.tree().total_rss()), budget);
        CarryOut act = actuator.carry_out(now);
        engine.decide({now, from_timer, mem, std::move(blocked), {}}, [&](const Action& a, const Job& j) {
            rec << json_line(nlohmann::json{{"event", "decision"}, {"ts_ns", now}, {"action", action_name(a.type)},
                                            {"job", a.job}, {"comm", j.name}, {"reason", a.reason}})
                << '\n';
            return act(a, j);
        });
    }
    // The timer's decisions due by now.
    void timers(bool all_blocked = false) {
        while (engine.timer_due() && *engine.timer_due() <= now) {
            engine.timer_fired();
            std::set<uint64_t> blocked;
            if (all_blocked)
                for (const auto& [id, j] : engine.tree().jobs())
                    if (j.state == JobState::Running) blocked.insert(id);
            decide(true, blocked);
        }
    }

    Engine engine;
    RecordingActuator actuator;
    std::ostringstream rec;
    uint64_t now = 100 * kSec;
    uint64_t budget = 1200 * MiB;
    uint32_t next_pid = 100;
    std::vector<uint32_t> pids;
    std::map<uint32_t, std::string> comms;
};

std::vector<std::string> replay(const std::string& recording, PolicyConfig cfg = {}) {
    std::istringstream in(recording);
    ReplaySource src(in, "recording");
    Engine engine(TreeConfig{}, cfg);
    RecordingActuator actuator;
    uint64_t now = 0;
    engine.on_input([&](const DecisionInput& d) { now = d.now_ns; });
    RecordingRun run = replay_recording(src, engine, actuator.carry_out(now));
    EXPECT_GT(run.inputs, 0u);
    return actuator.log;
}

// Lines of the log of this action ("stop", "hold", "resume").
size_t actions_of(const std::vector<std::string>& log, const std::string& type) {
    size_t n = 0;
    for (const std::string& l : log) n += l.find(" " + type + " ") == l.find(' ');
    return n;
}

size_t count_of(const std::vector<std::string>& log, const std::string& what) {
    size_t n = 0;
    for (const std::string& l : log) n += l.find(what) != std::string::npos;
    return n;
}

// A decision line's "rule" is read back; a recording from before the field has none.
TEST(Engine, RecordedDecisionsKeepTheirRule) {
    std::istringstream in(
        R"({"v":1,"event":"decision","ts_ns":5,"action":"hold","job":2,"comm":"cc1","reason":"held","rule":"hold_cpu"})"
        "\n"
        R"({"v":1,"event":"decision","ts_ns":6,"action":"resume","job":2,"comm":"cc1","reason":"room"})"
        "\n");
    ReplaySource src(in, "recording");
    Engine engine(TreeConfig{}, PolicyConfig{});
    RecordingActuator actuator;
    uint64_t now = 0;
    RecordingRun run = replay_recording(src, engine, actuator.carry_out(now));
    ASSERT_EQ(run.recorded.size(), 2u);
    EXPECT_EQ(run.recorded[0].rule, Rule::HoldCpu);
    EXPECT_EQ(run.recorded[1].rule, std::nullopt);
}

TEST(Engine, ARecordedBuildReplaysToTheSameDecisions) {
    LiveRun live;
    // four jobs that each grow to 500 MiB over 5 s, started 0.5 s apart, in 1.2 GiB
    std::map<uint32_t, double> rss;
    for (int step = 0; step < 400 && (rss.size() < 4 || !live.engine.tree().jobs().empty()); step++) {
        live.now += 100'000'000;
        if (step % 5 == 0 && rss.size() < 4) rss[live.spawn("cc1plus")] = 0;
        for (auto& [pid, r] : rss) {
            const Process* p = live.engine.tree().process(pid);
            const Job* j = p ? live.engine.tree().job(p->job) : nullptr;
            if (!j || j->state != JobState::Running) continue;
            r += 10 * MiB;
            if (r >= 500 * MiB) {
                live.event(exit_ev(live.now, pid, 1, "cc1plus"));
                continue;
            }
            live.event(rss_ev(live.now, pid, uint64_t(r)));
        }
        live.decide(false);
        live.timers();
    }
    const auto& decided = live.actuator.log;
    ASSERT_GT(actions_of(decided, "stop") + actions_of(decided, "hold"), 0u) << "nothing to replay";
    ASSERT_GT(actions_of(decided, "resume"), 0u);
    EXPECT_EQ(replay(live.rec.str()), decided);

    // other settings decide otherwise on the same recording
    PolicyConfig patient;
    patient.settle_s = 3;
    EXPECT_NE(replay(live.rec.str(), patient), decided);
}

// In 1000 MiB, a 700 MiB link runs; two compiles come at 100 MiB each and are held. Returns the link's pid.
uint32_t two_held_behind_a_link(LiveRun& live) {
    live.budget = 1000 * MiB;
    uint32_t big = live.spawn("ld");
    live.event(rss_ev(live.now, big, 700 * MiB));
    live.decide(false);
    for (uint32_t pid : {live.spawn("cc1plus"), live.spawn("cc1plus")}) live.event(rss_ev(live.now, pid, 100 * MiB));
    live.decide(false);
    return big;
}

TEST(Engine, TheDeadlockGuardsInputIsRecordedAndReplayed) {
    LiveRun live;
    two_held_behind_a_link(live);
    ASSERT_FALSE(live.actuator.log.empty()) << "nothing waits";
    // the running jobs make no progress: every timed decision sees them blocked
    for (int i = 0; i < 8; i++) {
        live.now += 250'000'000;
        live.timers(true);
    }
    const auto& decided = live.actuator.log;
    ASSERT_GT(count_of(decided, "deadlock guard"), 0u) << decided.size();
    EXPECT_EQ(replay(live.rec.str()), decided);

    // without the guard's input the replay would not resume those jobs
    std::string stripped = live.rec.str();
    const std::string key = "\"blocked\":[";
    for (size_t at = 0; (at = stripped.find(key, at)) != std::string::npos; at += key.size()) {
        size_t end = stripped.find(']', at);
        stripped.erase(at + key.size(), end - at - key.size());
    }
    EXPECT_EQ(count_of(replay(stripped), "deadlock guard"), 0u);
}

// `replay --policy`: the recorded settings decide as the controller did; other ones otherwise.
TEST(Engine, ReplayPolicyPrintsWhatWouldBeDecidedBesideWhatWas) {
    LiveRun live;
    uint32_t big = two_held_behind_a_link(live);
    live.event(exit_ev(live.now + kSec, big, 1, "ld"));
    live.now += kSec;
    live.decide(false);
    for (int i = 0; i < 40; i++) {
        live.now += 250'000'000;
        live.timers();
    }
    const size_t made = live.actuator.log.size();

    ReplayOptions o;
    o.file = "build.jsonl";
    o.policy = true;
    auto run = [&](const ReplayOptions& opts) {
        std::istringstream in(live.rec.str());
        std::ostringstream out;
        EXPECT_EQ(run_replay(opts, in, out), 0);
        return out.str();
    };
    std::string same = run(o);
    EXPECT_NE(same.find("; " + std::to_string(made) + " the same, at "), std::string::npos) << same;
    EXPECT_NE(same.find("hold job"), std::string::npos) << same;

    // what if only one job had run at a time: in plenty of memory, three compiles all ran
    LiveRun roomy;
    roomy.budget = 16 * GiB;
    for (uint32_t pid : {roomy.spawn("cc1plus"), roomy.spawn("cc1plus"), roomy.spawn("cc1plus")})
        roomy.event(rss_ev(roomy.now, pid, 100 * MiB));
    roomy.decide(false);
    ASSERT_TRUE(roomy.actuator.log.empty());
    o.max_running = 1;
    std::istringstream in(roomy.rec.str());
    std::ostringstream capped;
    run_replay(o, in, capped);
    EXPECT_NE(capped.str().find("made: 0 stops, 0 holds, 0 resumes; would make: 0 stops, 2 holds, 0 resumes"),
              std::string::npos)
        << capped.str();

    // a recording without the controller's settings line is refused
    std::istringstream trace_only(record_start_line(1, 1) + "\n");
    std::ostringstream out;
    EXPECT_THROW(run_replay(o, trace_only, out), UserError);
}

}  // namespace
}  // namespace swamp::test
