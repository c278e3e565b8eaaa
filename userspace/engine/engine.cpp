#include "engine/engine.hpp"

namespace swamp {

Engine::Engine(const TreeConfig& tree, const PolicyConfig& policy, const Caps& caps)
    : tree_(tree), policy_(policy, caps) {}

std::vector<Action> decide_step(Tree& tree, Policy& policy, const DecisionInput& in, const CarryOut& carry_out) {
    tree.tick(in.now_ns);
    std::vector<Action> done;
    for (const Action& a : policy.decide(tree, in.mem, in.now_ns, in.blocked, in.cpu_use)) {
        const Job* j = tree.job(a.job);
        if (!j || (carry_out && !carry_out(a, *j))) continue;
        tree.set_state(a.job, state_after(a.type), in.now_ns);
        done.push_back(a);
    }
    return done;
}

std::vector<Action> Engine::decide(const DecisionInput& in, const CarryOut& carry_out) {
    if (on_input_) on_input_(in);
    std::vector<Action> done = decide_step(tree_, policy_, in, carry_out);
    if (!policy_.wants_timer(tree_))
        timer_due_.reset();
    else if (!timer_due_)
        timer_due_ = in.now_ns + kTimerNs;
    return done;
}

}  // namespace swamp
