// A throttling controller's snapshot: three jobs, one running, one stopped, one held.
// Shared by the format tests (test_live_control.cpp) and tests/metrics/metrics_sample.cpp.
#pragma once

#include "control/status.hpp"

namespace swamp::test {

inline StatusSnapshot sample() {
    StatusSnapshot s;
    s.pid = 4242;
    s.unix_time = 1700000000;
    s.uptime_s = 12.34;
    s.managing = "make (pid 100)";
    s.actuator = "SIGSTOP/SIGCONT";
    s.mem.headroom = -(5ll << 20);
    s.mem.scale = 1100ull << 20;
    s.mem.source = "cgroup";
    s.low_mark = 64ull << 20;
    s.high_mark = 192ull << 20;
    s.tree_rss = 900ull << 20;
    s.caps = {2, false, false};
    s.jobs_total = 7, s.stops = 3, s.holds = 1, s.resumes = 2, s.oom_kills = 0;
    s.start_time = 1699999987.66;
    s.stopped_s = 42.25, s.held_s = 0.5;
    s.jobs = {{1, 101, "cc1plus", JobState::Running, 500ull << 20, 600ull << 20, 4.0, "", "", "", 24.0 * (1 << 20), 0.97,
               false},
              {2, 102, "ld", JobState::Stopped, 300ull << 20, 300ull << 20, 1.5,
               "projected headroom 10 MiB is below the low mark 64 MiB", "", "", 0, std::nullopt, false},
              {3, 103, "as \"x\"", JobState::Held, 1ull << 20, 1ull << 20, 0.2, "cap: at most 2 running jobs", "", "", 0,
               std::nullopt, false}};
    return s;
}

}  // namespace swamp::test
