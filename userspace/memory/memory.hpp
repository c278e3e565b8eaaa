// The memory signal: raw readings (MemorySample, filled by sys/memory_reader)
// and the pure computation of how much more the build may use (MemoryView).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace swamp {

// One moment's readings. Filled by MemoryReader; built by hand in tests.
struct MemorySample {
    uint64_t mem_total = 0;      // /proc/meminfo MemTotal, bytes
    uint64_t mem_available = 0;  // /proc/meminfo MemAvailable, bytes
    // The build root's memory cgroup (v1 or v2), when it has a limit:
    std::optional<uint64_t> cg_limit;  // bytes
    uint64_t cg_usage = 0;             // bytes in use minus inactive file cache (the working set)
    bool psi = false;                  // PSI readings are valid
    bool psi_own = false;              // ... and are the build cgroup's own, not the machine's
    double psi_some_avg10 = 0;         // percent
    double psi_full_avg10 = 0;         // percent
    uint64_t swap_in = 0;              // pages swapped in since boot (or by the cgroup, when known)
    uint64_t swap_out = 0;
    uint64_t oom_kills = 0;            // OOM kills counted in the build's cgroup (0 if unknown)
};

struct MemoryConfig {
    std::optional<uint64_t> budget;  // --mem-budget: the build may use this much in all
    uint64_t reserve = 0;            // --reserve: kept free of MemAvailable
};

// What the policy needs to know about memory right now.
struct MemoryView {
    int64_t headroom = 0;  // bytes the build may still grow by (negative: over)
    uint64_t scale = 0;    // the size watermarks are relative to (limit, budget or RAM)
    double psi_full_avg10 = 0;
    std::string source;    // "cgroup", "MemAvailable" or "budget": which bound won
};

// headroom = min(MemAvailable - reserve, cgroup limit - cgroup usage), or
// budget - tree_rss with --mem-budget.
MemoryView memory_view(const MemorySample& s, const MemoryConfig& c, uint64_t tree_rss);

}  // namespace swamp
