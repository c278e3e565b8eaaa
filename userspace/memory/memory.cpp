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
        return v;
    }
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
    return v;
}

}  // namespace swamp
