#include "actuator/dry_run_actuator.hpp"

#include <string>

#include "sys/proc.hpp"

namespace swamp {

Vetted DryRunActuator::on_join(uint64_t job, pid_t pid, bool job_stopped, uint64_t) {
    if (job_stopped) stopped_.insert(job);
    // Only looks: is the process still there?
    return {proc_exists(pid) ? Verdict::Ok : Verdict::Gone, "", ""};
}

bool DryRunActuator::stop(uint64_t job, const std::vector<pid_t>&, std::string&) {
    stopped_.insert(job);
    return true;
}

bool DryRunActuator::resume(uint64_t job, const std::vector<pid_t>&, std::string&) {
    stopped_.erase(job);
    return true;
}

}  // namespace swamp
