// Replays a recorded trace (JSON lines, see --record) through the engine, as
// the controller runs it, with memory from the recording's memory lines or a
// budget (not its input lines: engine/recording.hpp replays those), and
// records every decision for tests to check invariants on.
//
// Event lines are read by ReplaySource itself (same parsing, raw bytes
// decoded); "start", "memory" and "decision" lines, which ReplaySource skips,
// are read here. Without memory lines (a `trace --record`), the memory view is
// synthesized from a budget: budget - tree.total_rss(), as --mem-budget does.
//
// The recorded events keep coming after the replayed policy stops a job (the
// recording was not stopped by it): results are good for invariants of the
// decisions, not for what the build would have done.
#pragma once

#include <cstdint>
#include <istream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "memory/memory.hpp"
#include "policy/policy.hpp"
#include "source/replay_source.hpp"
#include "tree/tree.hpp"

namespace swamp::test {

struct MemoryLine {
    uint64_t ts_ns = 0;
    int64_t headroom = 0;
    uint64_t scale = 0;
    double psi_full_avg10 = 0;
};

// A "decision" line of the recording: what the live controller did.
struct RecordedDecision {
    uint64_t ts_ns = 0;
    std::string action;
    uint64_t job = 0;
    std::string name;
    uint64_t rss = 0;
    int64_t headroom = 0;
    std::string reason;
};

struct FixtureLine {
    size_t line = 0;                    // 1-based line number in the file
    std::optional<ReplayItem> item;     // an event, as ReplaySource returns it
    std::optional<MemoryLine> memory;   // or a memory line
};

struct Fixture {
    std::string name;
    std::optional<uint64_t> start_ns;
    uint32_t root_pid = 0;
    std::vector<FixtureLine> lines;  // events and memory lines, in file order
    std::vector<RecordedDecision> decisions;
    size_t events() const;
    size_t memory_lines() const;
};

Fixture parse_fixture(std::istream& in, const std::string& name = "fixture");
Fixture load_fixture(const std::string& path);  // throws std::runtime_error if unreadable
// Path of a file under tests/fixtures/ of the source tree.
std::string fixture_path(const std::string& file);

struct HarnessOptions {
    PolicyConfig policy;
    Caps caps;
    TreeConfig tree;
    std::optional<uint64_t> budget;  // synthesize memory from this budget (ignores memory lines)
    static constexpr uint64_t timer_ns = Engine::kTimerNs;  // the engine re-decides this often while jobs wait
    uint64_t batch_ns = 0;            // events within this long of a batch's first one are applied together
    uint64_t tail_ns = 120'000'000'000;  // after the last event, keep the timer at most this long
};

// One job as the policy saw it at a decision point.
struct JobSnap {
    uint64_t id = 0;
    std::string name;
    uint64_t rss = 0;
    uint64_t start_ns = 0;
    double growth = 0;
    JobState state = JobState::Running;
    bool fresh = false;                 // first decision point this job is at
    uint64_t jobs_ended_at_stop = 0;    // tree.jobs_ended() when last stopped or held
    bool ever_stopped = false;
    double growth_at_stop = 0;          // its growth when last stopped or held
    double predicted_s = 0;             // its run time by history (0: unknown)
};

struct DecisionPoint {
    uint64_t ts_ns = 0;
    bool from_timer = false;
    MemoryView mem;
    uint64_t low = 0, high = 0;  // the policy's watermarks for `mem`
    uint64_t jobs_ended = 0;     // tree.jobs_ended()
    std::map<uint64_t, JobSnap> jobs;  // before the decision
    std::vector<uint64_t> running, waiting;  // before the decision, most invested first
    std::optional<uint64_t> head;            // most invested running job before the decision
    std::vector<Action> actions;
    std::vector<uint64_t> running_after, waiting_after;
    bool critical() const { return mem.headroom < int64_t(low / 2); }
};

struct ActionRecord {
    uint64_t ts_ns = 0;
    ActionType type = ActionType::Stop;
    uint64_t job = 0;
    std::string reason;
    Rule rule = Rule::StopProjection;
    size_t point = 0;  // index into ReplayRun::points
};

struct ReplayRun {
    std::vector<DecisionPoint> points;
    std::vector<ActionRecord> actions;
    std::map<uint64_t, uint64_t> first_seen_ns;  // job -> time the tree reported it new
    std::map<uint64_t, std::string> names;       // job -> last name seen
    uint64_t jobs_ended = 0;
    size_t events = 0;
    size_t count(ActionType t) const;
};

// More invested first: larger RSS, then older, then lower id (as the policy orders).
bool more_invested(const JobSnap& a, const JobSnap& b);
// The order waiting jobs resume in: stopped ones most invested first, then
// those held at exec, the longest by history first, else the oldest.
bool resumes_before(const JobSnap& a, const JobSnap& b);

ReplayRun replay(const Fixture& fx, const HarnessOptions& opts = {});

}  // namespace swamp::test
