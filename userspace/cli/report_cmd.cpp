// `swamp-bpf report TRACE -o FILE.svg`: the timeline picture of a recorded build.
#include <fstream>
#include <iostream>

#include "cli/commands.hpp"
#include "report/svg.hpp"
#include "report/timeline.hpp"
#include "sys/safe_file.hpp"
#include "util/error.hpp"

namespace swamp {

int run_report(const ReportOptions& o) {
    std::ifstream in(o.file);
    if (!in) throw UserError(ExitCode::Usage, "cannot read " + o.file);
    std::string svg = render_svg(read_timeline(in, o.file), SvgOptions{.top = o.top, .min_peak = o.min_peak, .cpus = o.cpus});
    if (o.output == "-") {
        std::cout << svg << std::flush;
        return 0;
    }
    std::unique_ptr<std::ostream> out = open_output("the report", o.output);
    if (!(*out << svg) || !out->flush()) throw UserError(ExitCode::Failure, "cannot write " + o.output);
    return 0;
}

}  // namespace swamp
