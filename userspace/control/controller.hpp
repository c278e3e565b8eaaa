// The controller: the event loop that joins sensing, the build model, the
// memory signal, the policy and an actuator. `swamp-bpf --root-pid PID` and
// `swamp-bpf -- CMD…` run it.
#pragma once

#include "cli/options.hpp"

namespace swamp {

// Returns the launched command's exit code, or 0 in --root-pid mode.
int run_controller(const ControllerOptions& o);

}  // namespace swamp
