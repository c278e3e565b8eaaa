#include "memory/memory.hpp"

#include <algorithm>

namespace swamp {

MemoryView memory_view(const MemorySample& s, const MemoryConfig& c, uint64_t tree_rss) {
    MemoryView v;
    v.psi_full_avg10 = s.psi ? s.psi_full_avg10 : 0;
    if (c.budget) {
        v.headroom = int64_t(*c.budget) - int64_t(tree_rss);
        v.scale = *c.budget;
        v.source = "budget";
    } else {
        v.headroom = int64_t(s.mem_available) - int64_t(c.reserve);
        v.scale = s.mem_total;
        v.source = "MemAvailable";
        if (s.cg_limit && *s.cg_limit < s.mem_total) {
            int64_t cg = int64_t(*s.cg_limit) - int64_t(s.cg_usage);
            if (cg < v.headroom) {
                v.headroom = cg;
                v.source = "cgroup";
            }
            v.scale = *s.cg_limit;
        }
    }
    // Machine-wide pressure counts only while the machine itself is short
    // (MemAvailable below an eighth of RAM, about the default resume mark):
    // another cgroup thrashing at its own limit must not stop this build.
    if (!s.psi_own && int64_t(s.mem_available) - int64_t(c.reserve) >= int64_t(s.mem_total / 8))
        v.psi_full_avg10 = 0;
    return v;
}

}  // namespace swamp
