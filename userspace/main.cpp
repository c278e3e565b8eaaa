// swamp-bpf: keeps memory-hungry parallel builds from running out of memory.
#include <iostream>

#include "cli/commands.hpp"
#include "control/controller.hpp"
#include "util/error.hpp"

int main(int argc, char** argv) {
    using namespace swamp;
    ParsedCli cli = parse_cli(argc, argv, std::cout, std::cerr);
    if (cli.exit_now) return *cli.exit_now;
    try {
        switch (cli.command) {
        case Command::Control: return run_controller(cli.control);
        case Command::Trace: return run_trace(cli.trace);
        case Command::Probe: return run_probe(cli.probe);
        case Command::Replay: return run_replay(cli.replay);
        case Command::Recover: return run_recover();
        case Command::None: break;
        }
    } catch (const UserError& e) {
        std::cerr << "swamp-bpf: " << e.what() << '\n';
        return int(e.code());
    } catch (const std::exception& e) {
        std::cerr << "swamp-bpf: internal error: " << e.what() << '\n';
        return int(ExitCode::Failure);
    }
    return int(ExitCode::Usage);
}
