// The subcommands; each returns the process exit code or throws UserError.
#pragma once

#include <istream>
#include <ostream>
#include <string>

#include "cli/options.hpp"

namespace swamp {

int run_trace(const TraceOptions& o);
int run_probe(const ProbeOptions& o);
int run_replay(const ReplayOptions& o);
// The same on a stream (o.file only names it in errors), printing to `out`.
int run_replay(const ReplayOptions& o, std::istream& in, std::ostream& out);
// Draws a trace's timeline as SVG to o.output ("-": stdout).
int run_report(const ReportOptions& o);
// Resumes what killed instances left stopped or frozen; needs root.
int run_recover();
// Prints "FILE: ok" (and, with --show, the effective settings); a bad file throws UserError(Config).
int run_check_config(const CheckConfigOptions& o, std::ostream& out);

// `history list|export|forget`: results to `out`, notes (no history yet) to `err`; an unusable
// database throws UserError(ExitCode::History).
int run_history(const HistoryOptions& o, std::ostream& out, std::ostream& err);

// `ctl`: sends o.request to the controller on o.socket; prints the reply's body to
// `out`. A refusal or an error reply throws UserError (Permission, Usage).
int run_ctl(const CtlOptions& o, std::ostream& out);
// One request to the controller on `socket`: the reply's body, or a UserError as run_ctl's.
std::string ctl_exchange(const std::string& socket, const std::string& request);

// `top`: the live view (cli/top_cmd.cpp); without ncurses in the build, a UserError saying so.
int run_top(const TopOptions& o);

// All of main(): parses argv, runs the command and returns the exit code.
// Help, usage errors, check-config, history and UserErrors go to `out`/`err`; the other
// commands print to stdout and stderr themselves.
int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace swamp
