// Built with -DSWAMP_WITH_BPF=OFF: commands that need the kernel side say so.
#include "cli/commands.hpp"
#include "control/controller.hpp"
#include "util/error.hpp"

namespace swamp {

int run_trace(const TraceOptions&) {
    throw UserError(ExitCode::KernelFeature, "this swamp-bpf was built without BPF (SWAMP_WITH_BPF=OFF)");
}

int run_controller(const ControllerOptions&) {
    throw UserError(ExitCode::KernelFeature, "this swamp-bpf was built without BPF (SWAMP_WITH_BPF=OFF)");
}

}  // namespace swamp
