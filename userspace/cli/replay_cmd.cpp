// `swamp-bpf replay FILE`: print a recorded trace as `trace` printed it live.
// `swamp-bpf replay FILE --policy [flags]`: run it through the engine with the
// recorded settings, changed by the flags, beside the decisions that were made.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "engine/recording.hpp"
#include "source/replay_source.hpp"
#include "trace/printer.hpp"
#include "util/error.hpp"
#include "util/printable.hpp"

namespace swamp {

namespace {

int replay_policy(const ReplayOptions& o, std::istream& in, std::ostream& out) {
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream head(text);
    std::optional<EngineSettings> settings = recorded_settings(head);
    if (!settings)
        throw UserError(ExitCode::Usage, o.file + ": no settings line: --policy needs a recording made by the controller's "
                                                  "--record (not trace --record), by this version or later");
    EngineSettings s = *settings;
    if (o.horizon_s > 0) s.policy.horizon_s = o.horizon_s;
    if (o.low_mark) s.policy.low_watermark = o.low_mark;
    if (o.high_mark) s.policy.high_watermark = o.high_mark;
    if (o.max_running > 0) s.caps.max_running = o.max_running;
    if (o.cpus >= 0) s.policy.cpus = o.cpus;

    std::istringstream body(text);
    ReplaySource src(body, o.file);
    Engine engine(s.tree, s.policy, s.caps);
    std::map<uint64_t, std::string> names;  // job -> what it ran when decided
    RecordingRun run = replay_recording(src, engine, [&](const Action& a, const Job& j) {
        names[a.job] = j.name;
        return true;
    });
    if (run.inputs == 0)
        throw UserError(ExitCode::Usage, o.file + ": no input lines: nothing was decided in this recording");

    // both lists in time order, side by side; an action both made at once shares a line
    const uint64_t origin = src.start_ns().value_or(0);
    auto what = [](const std::string& action, uint64_t job, const std::string& name) {
        return action + " job " + std::to_string(job) + " (" + printable(name) + ")";
    };
    char line[256];
    std::snprintf(line, sizeof line, "%9s  %-36s %s\n", "t", "made", "would make");
    out << line;
    size_t r = 0, e = 0, same = 0;
    const auto& made = run.recorded;
    const auto& now = run.actions;
    while (r < made.size() || e < now.size()) {
        bool take_r = r < made.size() && (e >= now.size() || made[r].ts_ns <= now[e].ts_ns);
        bool take_e = e < now.size() && (r >= made.size() || now[e].ts_ns <= made[r].ts_ns);
        std::string left = "-", right = "-";
        uint64_t ts = take_r ? made[r].ts_ns : now[e].ts_ns;
        if (take_r && take_e && made[r].job == now[e].action.job &&
            made[r].action == action_name(now[e].action.type)) {
            same++;
        } else if (take_r && take_e) {
            take_e = false;  // different actions at one time: one line each
        }
        if (take_r) left = what(made[r].action, made[r].job, made[r].name), r++;
        if (take_e) right = what(action_name(now[e].action.type), now[e].action.job, names[now[e].action.job]), e++;
        std::snprintf(line, sizeof line, "%9.3f  %-36s %s\n", ts >= origin ? (ts - origin) / 1e9 : 0.0, left.c_str(),
                      right.c_str());
        out << line;
    }
    auto tally = [](auto begin, auto end, auto type_of) {
        int stops = 0, holds = 0, resumes = 0;
        for (auto it = begin; it != end; ++it) {
            std::string t = type_of(*it);
            (t == "stop" ? stops : t == "hold" ? holds : resumes)++;
        }
        return std::to_string(stops) + " stops, " + std::to_string(holds) + " holds, " + std::to_string(resumes) +
               " resumes";
    };
    out << "made: " << tally(made.begin(), made.end(), [](const RecordedDecision& d) { return d.action; })
        << "; would make: "
        << tally(now.begin(), now.end(), [](const TimedAction& a) { return std::string(action_name(a.action.type)); })
        << "; " << same << " the same, at " << run.inputs << " decisions\n";
    return 0;
}

}  // namespace

int run_replay(const ReplayOptions& o) {
    std::ifstream in(o.file);
    if (!in) throw UserError(ExitCode::Usage, "cannot read " + o.file);
    return run_replay(o, in, std::cout);
}

int run_replay(const ReplayOptions& o, std::istream& in, std::ostream& out) {
    if (o.policy) return replay_policy(o, in, out);
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
