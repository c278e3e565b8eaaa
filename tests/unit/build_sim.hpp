// Helpers for tests of the build model and the policy: kernel events built by
// hand, and a small simulated build (a make root whose children are jobs).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "memory/memory.hpp"
#include "policy/policy.hpp"
#include "tree/tree.hpp"

namespace swamp::test {

constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t GiB = 1ull << 30;
constexpr uint64_t kSec = 1'000'000'000ull;

inline ForkEvent fork_ev(uint64_t ts, uint32_t pid, uint32_t ppid, const std::string& comm) {
    return ForkEvent{ts, pid, pid, ppid, comm, false};
}
inline ForkEvent thread_ev(uint64_t ts, uint32_t pid, uint32_t tid, uint32_t ppid, const std::string& comm) {
    return ForkEvent{ts, pid, tid, ppid, comm, true};
}
inline ExecEvent exec_ev(uint64_t ts, uint32_t pid, uint32_t ppid, const std::string& comm,
                         std::vector<std::string> argv = {}) {
    if (argv.empty()) argv = {comm};
    return ExecEvent{ts, pid, ppid, comm, "/usr/bin/" + comm, std::move(argv), false};
}
inline ExitEvent exit_ev(uint64_t ts, uint32_t pid, uint32_t ppid, const std::string& comm) {
    return ExitEvent{ts, pid, ppid, comm, 0, 0, 0, 0};
}
inline RssEvent rss_ev(uint64_t ts, uint32_t pid, uint64_t rss) { return RssEvent{ts, pid, rss, rss, 0, 0, 0, rss}; }
inline FaultEvent fault_ev(uint64_t ts, uint32_t pid, uint64_t interval_ns, uint64_t maj) {
    return FaultEvent{ts, pid, interval_ns, 0, maj};
}

inline MemoryView view(int64_t headroom, uint64_t scale = 1600 * MiB, double psi_full = 0) {
    MemoryView v;
    v.headroom = headroom;
    v.scale = scale;
    v.psi_full_avg10 = psi_full;
    v.source = "test";
    return v;
}

// A build driven by `make` (pid 1); each job is one process make forked that
// exec'd a compiler. Time is explicit: `now` moves only with advance().
class Sim {
public:
    explicit Sim(TreeConfig cfg = {}) : tree(std::move(cfg)) { tree.add_root(1, 0, "make", now); }

    Tree tree;
    uint64_t now = 100 * kSec;

    void advance(double s) { now += uint64_t(s * 1e9); }

    // make forks, the child execs `name`, with `rss` from the start (no growth).
    uint64_t spawn(const std::string& name, uint64_t rss = 0) {
        uint32_t pid = next_pid_++;
        TreeDelta d = tree.apply(fork_ev(now, pid, 1, "make"));
        EXPECT_EQ(d.new_jobs.size(), 1u);
        tree.apply(exec_ev(now, pid, 1, name, {name, "-c", name + ".c"}));
        if (rss) tree.apply(rss_ev(now, pid, rss));
        uint64_t id = d.new_jobs.empty() ? 0 : d.new_jobs.front();
        roots_[id] = pid;
        return id;
    }
    uint32_t pid_of(uint64_t job) const { return roots_.at(job); }
    const Job& job(uint64_t id) const {
        const Job* j = tree.job(id);
        EXPECT_TRUE(j) << "no job " << id;
        static const Job none;
        return j ? *j : none;
    }

    void set_rss(uint64_t job, uint64_t rss) { tree.apply(rss_ev(now, pid_of(job), rss)); }
    // Grows each listed job at its rate (bytes/s) for `secs`, in 0.1 s steps:
    // long enough for the smoothed growth to settle near the rate.
    void ramp(const std::map<uint64_t, double>& rates, double secs = 3.0) {
        std::map<uint64_t, double> rss;
        for (auto [id, r] : rates) rss[id] = double(job(id).rss);
        for (int step = 0; step < int(secs * 10 + 0.5); step++) {
            advance(0.1);
            for (auto [id, r] : rates) {
                rss[id] += r * 0.1;
                tree.apply(rss_ev(now, pid_of(id), uint64_t(rss[id])));
            }
        }
    }
    void faults(uint64_t job, uint64_t maj_per_s) { tree.apply(fault_ev(now, pid_of(job), kSec, maj_per_s)); }
    void finish(uint64_t job) { tree.apply(exit_ev(now, pid_of(job), 1, job_name(job))); }

    // The controller's step (the engine's, on this model and `p`). Every action must say why.
    std::vector<Action> decide(Policy& p, const MemoryView& mem, const std::set<uint64_t>& blocked = {},
                               const std::map<uint64_t, double>& cpu_use = {}) {
        return decide_step(tree, p, {now, false, mem, blocked, cpu_use}, [&](const Action& a, const Job&) {
            EXPECT_FALSE(a.reason.empty()) << action_name(a.type) << " job " << a.job << " without a reason";
            return true;
        });
    }

    // Lets the policy see the current jobs with plenty of memory, so that
    // none of them counts as new (held at exec) in the next decision.
    void prime(Policy& p) { EXPECT_TRUE(decide(p, view(100 * GiB, 200 * GiB)).empty()); }

    std::vector<uint64_t> running() const { return in_state(JobState::Running); }
    std::vector<uint64_t> waiting() const {
        auto s = in_state(JobState::Stopped), h = in_state(JobState::Held);
        s.insert(s.end(), h.begin(), h.end());
        return s;
    }

private:
    std::string job_name(uint64_t id) const {
        const Job* j = tree.job(id);
        return j ? j->name : "?";
    }
    std::vector<uint64_t> in_state(JobState st) const {
        std::vector<uint64_t> out;
        for (const auto& [id, j] : tree.jobs())
            if (j.state == st) out.push_back(id);
        return out;
    }
    uint32_t next_pid_ = 100;
    std::map<uint64_t, uint32_t> roots_;
};

// Actions of one type, as job ids in order.
inline std::vector<uint64_t> jobs_of(const std::vector<Action>& actions, ActionType t) {
    std::vector<uint64_t> out;
    for (const Action& a : actions)
        if (a.type == t) out.push_back(a.job);
    return out;
}

}  // namespace swamp::test
