#include <unistd.h>

#include <iostream>

#include "actuator/leftovers.hpp"
#include "cli/commands.hpp"
#include "util/error.hpp"

namespace swamp {

int run_recover() {
    if (geteuid() != 0)
        throw UserError(ExitCode::Permission, "recover signals other users' processes and writes cgroups: run it with sudo");
    std::string note = describe(recover_leftovers());
    std::cerr << "swamp-bpf: " << (note.empty() ? "nothing left stopped or frozen by an earlier swamp-bpf" : note) << '\n';
    return 0;
}

}  // namespace swamp
