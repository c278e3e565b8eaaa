// DryRunActuator: touches no process and no cgroup; only keeps the stop /
// resume bookkeeping, so the controller behaves as if it acted.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "actuator/actuator.hpp"

namespace swamp {

class DryRunActuator final : public Actuator {
public:
    ~DryRunActuator() override { resume_all(); }

    const char* name() const override { return "dry-run"; }
    Vetted on_join(uint64_t job, pid_t pid, bool job_stopped, uint64_t seen_ns) override;
    void on_exit(pid_t) override {}
    void on_job_end(uint64_t job) override { stopped_.erase(job); }
    bool stop(uint64_t job, const std::vector<pid_t>& pids, std::string& error) override;
    bool resume(uint64_t job, const std::vector<pid_t>& pids, std::string& error) override;
    void resume_all() override { stopped_.clear(); }

    // Jobs "stopped" now.
    const std::set<uint64_t>& stopped() const { return stopped_; }

private:
    std::set<uint64_t> stopped_;
};

}  // namespace swamp
