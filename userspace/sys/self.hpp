// Our own process as the kernel sees it: /proc/self and getrusage().
#pragma once

#include <cstdint>
#include <string_view>

namespace swamp {

// A size from /proc/self/status ("VmHWM:" the peak RSS so far, "RssAnon:" the
// part of RSS that is our own, not shared library pages or the ring buffer), in
// bytes; 0 if unknown.
uint64_t self_status_bytes(std::string_view key);
// Starts VmHWM again from the current RSS (5 to /proc/self/clear_refs).
void reset_peak_rss();
// Writes /proc/self/oom_score_adj; a failure is ignored (not root: the value stays).
void set_oom_score_adj(int value);
// The CPU time we used so far, user and system, in seconds.
double self_cpu_seconds();

}  // namespace swamp
