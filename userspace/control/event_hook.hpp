// --on-event CMD (docs/control.md, "Event hooks"): what the hook is told, and
// how often it may run. Pure: the environment of one event and a rate limit
// that takes the time as input; sys/hook_runner starts the command.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace swamp {

// stop, hold, resume: a job; pressure: headroom fell below the low mark or the
// build thrashes (once, until headroom is back above the resume mark);
// oom-kill: the kernel killed in the build's cgroup; build-end: a build ended.
struct HookEvent {
    std::string event;
    uint64_t job = 0;        // 0: not about one job
    uint32_t pid = 0;        // the job's (or the build's) root
    std::string name;        // the job's name
    uint64_t rss = 0;        // the job's RSS, bytes
    std::string reason;      // the decision's reason, or what happened
    std::string rule;        // the decision's rule (rule_name()); "" if not a decision
    int64_t headroom = 0;    // bytes
    uint64_t oom_kills = 0;  // since the start
    std::optional<int> exit_status;  // build-end of a launched command
    std::string managing;    // what the controller manages
    std::string socket;      // its ctl socket ("" if none)
};

// Longest value of a string variable, in bytes (never cut inside a character).
constexpr size_t kHookValueMax = 512;

// NAME=value strings: SWAMP_EVENT, SWAMP_JOB, SWAMP_PID, SWAMP_NAME, SWAMP_RSS,
// SWAMP_REASON, SWAMP_RULE (a decision's), SWAMP_HEADROOM, SWAMP_OOM_KILLS, SWAMP_STATUS (build-end of a
// launched command), SWAMP_MANAGING, SWAMP_SOCKET, SWAMP_TIME (unix seconds),
// SWAMP_DROPPED (events not told since the last hook). Strings are printable
// (one line, no control characters) and at most kHookValueMax bytes.
std::vector<std::string> hook_environment(const HookEvent& e, uint64_t unix_time, uint64_t dropped);

// At most kBurst hooks at once, then one per kRefillS seconds; oom-kill and
// build-end always pass. What does not pass is counted.
class HookLimiter {
public:
    static constexpr double kBurst = 10, kRefillS = 1.0;
    bool admit(const std::string& event, uint64_t now_ns);
    // Events refused since the last call.
    uint64_t take_dropped();
    uint64_t dropped_total() const { return dropped_total_; }

private:
    double tokens_ = kBurst;
    uint64_t last_ns_ = 0;
    uint64_t dropped_ = 0, dropped_total_ = 0;
};

}  // namespace swamp
