#include "control/progress_watch.hpp"

#include <utility>

namespace swamp {

void ProgressWatch::sample(const std::map<uint64_t, ProcsCpu>& running, uint64_t now) {
    last_ns_ = now;
    std::map<uint64_t, Seen> next;
    for (const auto& [id, read] : running) {
        Seen s{};
        s.cpu = read.ticks;
        s.paused = read.stopped;
        s.at = s.since = now;
        if (auto it = seen_.find(id); it != seen_.end()) {
            const Seen& was = it->second;
            if (s.cpu == was.cpu) s.since = was.since;
            // a process that exited took its ticks along: keep the last rate
            s.used = s.cpu >= was.cpu ? double(s.cpu - was.cpu) * tick_s_ / ((now - was.at) / 1e9) : was.used;
            s.measured = true;
        }
        next[id] = s;
    }
    seen_ = std::move(next);
}

std::set<uint64_t> ProgressWatch::blocked(uint64_t now, double limit_s) const {
    std::set<uint64_t> out;
    for (const auto& [id, s] : seen_)
        if (!s.paused && (now - s.since) / 1e9 >= limit_s) out.insert(id);
    return out;
}

std::map<uint64_t, double> ProgressWatch::cpu_use() const {
    std::map<uint64_t, double> out;
    for (const auto& [id, s] : seen_)
        if (s.measured) out[id] = s.used;
    return out;
}

void ProgressWatch::reset() {
    seen_.clear();
    last_ns_ = 0;
}

}  // namespace swamp
