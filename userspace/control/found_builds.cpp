#include "control/found_builds.hpp"

#include "util/printable.hpp"

namespace swamp {

std::string FoundBuilds::on_entered(const Tree& tree, uint32_t pid, uint64_t now_ns) {
    const Process* p = tree.process(pid);
    if (!p || !p->driver || tree.process(p->ppid)) return "";
    builds_[pid].found_ns = now_ns;
    return "found a build: pid " + std::to_string(pid) + " (" + printable(p->command.empty() ? p->comm : p->command) + ")";
}

void FoundBuilds::on_delta(const Tree& tree, const TreeDelta& d) {
    if (builds_.empty()) return;
    for (uint64_t id : d.started_jobs) {
        const Job* j = tree.job(id);
        // the nearest ancestor that is a found build's root
        for (const Process* p = j ? tree.process(j->root_pid) : nullptr; p; p = tree.process(p->ppid)) {
            if (auto it = builds_.find(p->pid); it != builds_.end()) {
                build_of_job_[id] = p->pid;
                it->second.jobs++;
                break;
            }
        }
    }
    for (const auto* ids : {&d.ended_jobs, &d.dissolved_jobs})
        for (uint64_t id : *ids) build_of_job_.erase(id);
}

void FoundBuilds::on_action(const Action& a) {
    auto job = build_of_job_.find(a.job);
    if (job == build_of_job_.end()) return;
    auto b = builds_.find(job->second);
    if (b == builds_.end()) return;  // its root already ended
    b->second.actions.count(a);
}

std::string FoundBuilds::on_exit(const ExitEvent& e) {
    auto it = builds_.find(e.pid);
    if (it == builds_.end()) return "";
    const Tally& t = it->second;
    std::string line = "build pid " + std::to_string(e.pid) + " (" + printable(e.comm) + ") ended after " +
                       std::to_string((e.ts_ns - std::min(e.ts_ns, t.found_ns)) / 1'000'000'000) + " s" +
                       (e.signal() ? ", killed by signal " + std::to_string(e.signal()) : "") + ": " +
                       std::to_string(t.jobs) + " jobs, " + std::to_string(t.actions.stops) + " stops, " +
                       std::to_string(t.actions.holds) + " holds at exec, " + std::to_string(t.actions.resumes) +
                       " resumes";
    builds_.erase(it);
    return line;
}

}  // namespace swamp
