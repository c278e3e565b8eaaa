#include <unistd.h>

#include <iostream>

#include "actuator/leftovers.hpp"
#include "cli/commands.hpp"
#include "sys/pid_namespace.hpp"
#include "util/error.hpp"

namespace swamp {

int run_recover() {
    require_host_pid_namespace();  // the state files hold the host's pids
    if (geteuid() != 0)
        throw UserError(ExitCode::Permission, "recover signals other users' processes and writes cgroups: run it with sudo");
    if (std::string problem = prepare_state_dir(); !problem.empty())
        throw UserError(ExitCode::Usage, "refusing the state directory: " + problem);
    Recovery r = recover_leftovers(find_host_features(FsRoot{}));
    for (const std::string& line : report_lines(r)) std::cerr << "swamp-bpf: " << line << '\n';
    if (r.instances.empty() && r.unreadable.empty()) std::cerr << "swamp-bpf: nothing left stopped or frozen by an earlier swamp-bpf\n";
    return r.unreadable.empty() ? 0 : int(ExitCode::Failure);
}

}  // namespace swamp
