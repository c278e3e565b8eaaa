// The decision engine: the build model, the policy, the re-decide timer and
// what an action does to a job's state, in one loop that the controller, the
// replay of a recording, the simulator and the tests all run. Pure: the events
// come from an EventSource, the memory view, the CPU readings and the time come
// in a DecisionInput, and actions go out through a callback (the actuator's
// stop or resume). Each DecisionInput can be recorded, so a recording replays
// to the same decisions (engine/recording.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "memory/memory.hpp"
#include "policy/policy.hpp"
#include "tree/tree.hpp"

namespace swamp {

// Everything a decision sees besides the build model.
struct DecisionInput {
    uint64_t now_ns = 0;
    bool from_timer = false;  // the timer woke us, not an event
    MemoryView mem;
    std::set<uint64_t> blocked;          // the deadlock guard's: running jobs that made no progress
    std::map<uint64_t, double> cpu_use;  // the CPU rule's: CPUs each running job used lately
};

// Carries out `a` on `job` (stops, holds or resumes its processes); false
// if it could not, and the job's state stays as it was.
using CarryOut = std::function<bool(const Action& a, const Job& job)>;

// One decision on `tree` by `policy`: ages the rates, decides, carries each
// action on a known job out (no `carry_out`: each succeeds) and sets the job's
// state. Returns the actions carried out. Engine::decide is this and the timer.
std::vector<Action> decide_step(Tree& tree, Policy& policy, const DecisionInput& in, const CarryOut& carry_out = nullptr);

class Engine {
public:
    static constexpr uint64_t kTimerNs = 250'000'000;  // re-decide this often while jobs wait

    Engine(const TreeConfig& tree, const PolicyConfig& policy, const Caps& caps = {});

    Tree& tree() { return tree_; }
    const Tree& tree() const { return tree_; }
    Policy& policy() { return policy_; }
    const Policy& policy() const { return policy_; }

    // One event into the build model.
    TreeDelta apply(const Event& e) { return tree_.apply(e); }

    // decide_step() on the engine's model and policy, then the timer is armed or disarmed.
    std::vector<Action> decide(const DecisionInput& in, const CarryOut& carry_out = nullptr);

    // Armed while a job waits (the deadlock guard and resumes need time to pass).
    bool timer_armed() const { return timer_due_.has_value(); }
    // When the next timed decision is due (simulated time), if armed; a
    // caller that fires it calls timer_fired() first.
    std::optional<uint64_t> timer_due() const { return timer_due_; }
    void timer_fired() {
        if (timer_due_) *timer_due_ += kTimerNs;
    }

    // Called with each decision's input before the policy sees it (--record).
    void on_input(std::function<void(const DecisionInput&)> f) { on_input_ = std::move(f); }

private:
    Tree tree_;
    Policy policy_;
    std::optional<uint64_t> timer_due_;
    std::function<void(const DecisionInput&)> on_input_;
};

}  // namespace swamp
