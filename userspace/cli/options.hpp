// The command line: every flag, parsed into the settings' plain structs (config/settings.hpp).
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "config/settings.hpp"

namespace swamp {

enum class Command { None, Control, Service, Trace, Probe, Replay, CheckConfig, Recover, History, Report, Ctl, Top };

struct ParsedCli {
    Command command = Command::None;
    ControllerOptions control;
    TraceOptions trace;
    ProbeOptions probe;
    ReplayOptions replay;
    CheckConfigOptions check_config;
    HistoryOptions history;
    ReportOptions report;
    CtlOptions ctl;
    TopOptions top;
    std::optional<int> exit_now;  // help, version or a usage error: exit with this
    std::string state_dir;        // hidden --state-dir, for tests: instead of /run/swamp-bpf
};

// Parses argv; help and errors are written to `out`/`err`.
ParsedCli parse_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace swamp
