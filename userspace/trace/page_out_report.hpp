// What the trace records of a page-out: the actuator fills it in, the printer writes it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace swamp {

// One page-out, as the trace and the summary show it.
struct PageOutReport {
    uint64_t job = 0;
    pid_t pid = 0;            // the job's first process paged out
    std::string method;       // "process_madvise" or "memory.reclaim"
    std::string outcome;      // "done", "cancelled" (resumed or ended first), "failed: …"
    uint64_t rss_before = 0;  // the job's RSS (memory.current for memory.reclaim), bytes
    uint64_t rss_after = 0;
    uint64_t swap_after = 0;  // the job's VmSwap afterwards (0 for memory.reclaim)
    uint64_t start_ns = 0, end_ns = 0;  // CLOCK_MONOTONIC
    uint64_t paged_out() const { return rss_before > rss_after ? rss_before - rss_after : 0; }
};

}  // namespace swamp
