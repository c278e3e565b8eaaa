// `swamp-bpf replay FILE`: print a recorded trace as `trace` printed it live.
#include <fstream>
#include <iostream>

#include "cli/commands.hpp"
#include "source/replay_source.hpp"
#include "trace/printer.hpp"
#include "util/error.hpp"

namespace swamp {

int run_replay(const ReplayOptions& o) {
    std::ifstream in(o.file);
    if (!in) throw UserError(ExitCode::Usage, "cannot read " + o.file);
    return run_replay(o, in, std::cout);
}

int run_replay(const ReplayOptions& o, std::istream& in, std::ostream& out) {
    ReplaySource src(in, o.file);
    std::optional<TracePrinter> printer;
    while (auto item = src.next()) {
        if (!printer) printer.emplace(PrinterOptions{o.json, o.threads}, out, nullptr, src.start_ns().value_or(0));
        printer->name(event_pid(item->event), item->comm);
        printer->on_event(item->event, item->raw);
    }
    return 0;
}

}  // namespace swamp
