// The subcommands; each returns the process exit code or throws UserError.
#pragma once

#include "cli/options.hpp"

namespace swamp {

int run_trace(const TraceOptions& o);
int run_probe(const ProbeOptions& o);
int run_replay(const ReplayOptions& o);
// Resumes what killed instances left stopped or frozen; needs root.
int run_recover();

}  // namespace swamp
