// The subcommands; each returns the process exit code or throws UserError.
#pragma once

#include <istream>
#include <ostream>

#include "cli/options.hpp"

namespace swamp {

int run_trace(const TraceOptions& o);
int run_probe(const ProbeOptions& o);
int run_replay(const ReplayOptions& o);
// The same on a stream (o.file only names it in errors), printing to `out`.
int run_replay(const ReplayOptions& o, std::istream& in, std::ostream& out);

}  // namespace swamp
