// A recording (--record) as the engine's input: besides the kernel events, an
// "input" line holds what each decision saw (DecisionInput: memory, the
// deadlock guard's blocked jobs, CPU use) and a "prediction" line what the
// history predicted for a job. replay_recording() runs them through an engine,
// so a recording replays to the decisions the controller made, or with other
// policy settings to the ones it would have made.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/engine.hpp"
#include "source/replay_source.hpp"

namespace swamp {

nlohmann::json input_json(const DecisionInput& in);
// nullopt if `j` is not a well-formed "input" line.
std::optional<DecisionInput> input_from_json(const nlohmann::json& j);

// The prediction the history gave job `job` (Tree::set_prediction's arguments).
nlohmann::json prediction_json(uint64_t ts_ns, uint64_t job, const Job& j);
// Job `job` is protected (never stopped): it ran a protected name, or could not be held.
nlohmann::json protect_json(uint64_t ts_ns, uint64_t job);

// The settings a decision depends on: the controller's, once resolved (--cpus auto).
struct EngineSettings {
    PolicyConfig policy;
    Caps caps;
    TreeConfig tree;
};
nlohmann::json settings_json(const EngineSettings& s);
// The "settings" line of a recording, which comes before its first event;
// nullopt if there is none (a recording of `trace`, or from before it was written).
// Reads `in` to that line or to the first event.
std::optional<EngineSettings> recorded_settings(std::istream& in);

// A "decision" line: what the live controller did.
struct RecordedDecision {
    uint64_t ts_ns = 0;
    std::string action;
    uint64_t job = 0;
    std::string name;
    std::string reason;
    std::optional<Rule> rule;  // none in recordings from before the field, or a rule this version does not know
};

struct TimedAction {
    uint64_t ts_ns = 0;
    Action action;
};

struct RecordingRun {
    std::vector<TimedAction> actions;          // what the engine decided
    std::vector<RecordedDecision> recorded;    // what the recording says was decided
    size_t events = 0, inputs = 0;
};

// Runs `src` through `engine`: every event into the tree, and at each "input"
// line one decision with that input, carried out by `carry_out` (none: each
// succeeds). A recording without input lines (`trace --record`) decides nothing.
RecordingRun replay_recording(ReplaySource& src, Engine& engine, const CarryOut& carry_out = nullptr);

}  // namespace swamp
