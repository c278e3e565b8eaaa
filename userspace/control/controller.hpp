// The controller: the epoll loop around the engine (engine/engine.hpp), which
// it feeds the BPF source's events, the memory signal and the CPU readings,
// and whose actions it carries out with an actuator. `swamp-bpf --root-pid PID` and
// `swamp-bpf -- CMD…` run it.
#pragma once

#include "config/settings.hpp"

namespace swamp {

// Returns the launched command's exit code, or 0 in --root-pid mode.
int run_controller(const ControllerOptions& o);

}  // namespace swamp
