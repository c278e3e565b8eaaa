// FreezeActuator: each job gets its own cgroup v2 under
// <build root's v2 cgroup>/swamp-bpf-<our pid>/job-<id>, and is stopped by
// writing cgroup.freeze. The parent (make, ninja) sees no stop.
//
// Memory charged before a move stays with the old cgroup; on hybrid hosts the
// v1 memory cgroup is unaffected by v2 moves, so this changes no accounting.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "actuator/actuator.hpp"
#include "sys/host_features.hpp"

namespace swamp {

class FreezeActuator final : public Actuator {
public:
    // Throws UserError(Cgroup) when cgroup2 is missing, cgroup.freeze is not
    // supported, or our cgroup directory cannot be created or written.
    // Uses host.cgroup2 (probed) and reads /proc under host.root.
    FreezeActuator(pid_t build_root, Vetter vetter, const HostFeatures& host);
    ~FreezeActuator() override;
    FreezeActuator(const FreezeActuator&) = delete;
    FreezeActuator& operator=(const FreezeActuator&) = delete;

    const char* name() const override { return "freeze"; }
    Vetted on_join(uint64_t job, pid_t pid, bool job_stopped, uint64_t seen_ns) override;
    void on_exit(pid_t pid) override;
    void on_untracked(pid_t pid) override;
    void on_job_end(uint64_t job) override;
    bool stop(uint64_t job, const std::vector<pid_t>& pids, std::string& error) override;
    bool resume(uint64_t job, const std::vector<pid_t>& pids, std::string& error) override;
    void resume_all() override;
    // The frozen job's cgroup, and pidfds of its members (for process_madvise
    // where the cgroup has no memory.reclaim).
    PageOutTarget page_out_target(uint64_t job) override;

    // <mount><build root's cgroup>/swamp-bpf-<pid> (for tests and messages).
    const std::string& dir() const { return dir_; }
    std::string cgroup_dir() const override { return dir_; }
    std::string job_dir(uint64_t job) const;
    const std::set<uint64_t>& stopped() const { return stopped_; }

private:
    bool ensure_job_dir(uint64_t job, std::string& error);
    bool in_job_cgroup(pid_t pid, const std::string& prefix) const;
    int move_vetted(int pidfd, pid_t pid, const std::string& cg);

    Vetter vetter_;
    FsRoot root_;
    std::string mount_;     // the cgroup2 mount
    std::string orig_;      // the build root's v2 cgroup dir: processes go back here
    std::string dir_;       // our directory under it
    std::set<uint64_t> jobs_;     // job cgroups we created and have not removed
    std::set<uint64_t> stopped_;  // frozen jobs
    std::map<pid_t, uint64_t> members_;  // vetted processes we moved into job cgroups -> seen_ns
};

}  // namespace swamp
