// `swamp-bpf check-config FILE`: the config file's errors, without root or BPF.
#include "cli/commands.hpp"
#include "config/config.hpp"

namespace swamp {

int run_check_config(const CheckConfigOptions& o, std::ostream& out) {
    ControllerOptions effective;
    apply_config_file(o.file, effective);
    out << o.file << ": ok\n";
    if (o.show) out << "\n# effective settings: " << o.file << " over the defaults\n" << format_config(effective);
    return 0;
}

}  // namespace swamp
