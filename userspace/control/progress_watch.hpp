// What running jobs do with the CPU, from samples of their processes' CPU time
// (sys/proc.hpp read_procs_cpu), taken at most every 200 ms and only while the
// policy can use them. Pure:
// - the CPUs each job used over the last interval, for the policy's CPU rule;
// - blocked jobs, for the deadlock guard: no CPU time for `limit_s`. A job
//   that someone else stopped (kill -STOP, a debugger) is paused, not
//   blocked: it never makes the guard resume a job of ours.
#pragma once

#include <cstdint>
#include <map>
#include <set>

#include "sys/proc.hpp"

namespace swamp {

class ProgressWatch {
public:
    static constexpr uint64_t kIntervalNs = 200'000'000;

    // `ticks_per_s`: the unit of the samples' CPU time (clock_ticks_per_second()).
    explicit ProgressWatch(long ticks_per_s) : tick_s_(1.0 / double(ticks_per_s)) {}

    // Whether sample() wants a new reading at `now`.
    bool due(uint64_t now) const { return now - last_ns_ >= kIntervalNs; }
    // The running jobs' CPU time at `now`, by job id; jobs not in it are forgotten.
    void sample(const std::map<uint64_t, ProcsCpu>& running, uint64_t now);
    std::set<uint64_t> blocked(uint64_t now, double limit_s) const;
    // CPUs used over the last interval, by job; only jobs sampled twice.
    std::map<uint64_t, double> cpu_use() const;
    void reset();

private:
    struct Seen {
        uint64_t cpu = 0;    // ticks
        uint64_t at = 0;     // when read
        uint64_t since = 0;  // when its CPU time last moved
        double used = 0;     // CPUs over the last interval
        bool measured = false;
        bool paused = false;
    };
    double tick_s_;
    std::map<uint64_t, Seen> seen_;
    uint64_t last_ns_ = 0;
};

}  // namespace swamp
