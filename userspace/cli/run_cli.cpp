#include "actuator/leftovers.hpp"
#include "cli/commands.hpp"
#include "control/controller.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/printable.hpp"

namespace swamp {

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
    ParsedCli cli = parse_cli(argc, argv, out, err);
    if (cli.exit_now) return *cli.exit_now;
    if (!cli.state_dir.empty()) set_state_dir(cli.state_dir);
    try {
        switch (cli.command) {
        case Command::Control:
        case Command::Service: return run_controller(cli.control);
        case Command::Trace: return run_trace(cli.trace);
        case Command::Probe: return run_probe(cli.probe);
        case Command::Replay: return run_replay(cli.replay);
        case Command::CheckConfig: return run_check_config(cli.check_config, out);
        case Command::Recover: return run_recover();
        case Command::History: return run_history(cli.history, out, err);
        case Command::Report: return run_report(cli.report);
        case Command::Ctl: return run_ctl(cli.ctl, out);
        case Command::Top: return run_top(cli.top);
        case Command::None: break;
        }
    } catch (const UserError& e) {
        // under systemd at error priority, once the controller turned the prefixes on
        err << level_prefix(Level::Error) << "swamp-bpf: " << printable(e.what()) << '\n';  // may quote a comm or a file's line
        return int(e.code());
    } catch (const std::exception& e) {
        err << level_prefix(Level::Error) << "swamp-bpf: internal error: " << printable(e.what()) << '\n';
        return int(ExitCode::Failure);
    }
    return int(ExitCode::Usage);
}

}  // namespace swamp
