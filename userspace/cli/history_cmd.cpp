// `swamp-bpf history list|export|forget`: the history database, for people (docs/history.md, "History").
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "history/history.hpp"
#include "util/json_line.hpp"
#include "trace/text.hpp"
#include "util/printable.hpp"

namespace swamp {

namespace {

struct KeyRow {
    std::string key, tool;
    std::string made;  // the last run's target, and its package if any
    int runs = 0;
    uint64_t last_peak = 0, predicted = 0;
    bool last_complete = true;
    double last_duration_s = 0;
};

// One row per key; `runs` are grouped by key, oldest first.
std::vector<KeyRow> key_rows(const std::vector<RunRecord>& runs) {
    std::vector<KeyRow> rows;
    for (size_t i = 0; i < runs.size();) {
        size_t end = i;
        std::vector<PastRun> past;
        for (; end < runs.size() && runs[end].key == runs[i].key; end++) {
            const RunRecord& r = runs[end];
            past.push_back({r.peak, r.duration_s, r.peak_at_s, r.input_bytes, r.complete, r.unix_time});
        }
        const RunRecord& last = runs[end - 1];
        auto p = predict_peak(past, 0, PredictionConfig{});
        std::string made = last.target.empty() ? "-" : last.target;
        if (!last.package.empty()) made += " (" + last.package + ")";
        rows.push_back({last.key, last.tool, std::move(made), int(end - i), last.peak, p ? p->peak : 0, last.complete,
                        last.duration_s});
        i = end;
    }
    std::stable_sort(rows.begin(), rows.end(), [](const KeyRow& a, const KeyRow& b) { return a.predicted > b.predicted; });
    return rows;
}

std::string duration_text(double s) {
    char buf[32];
    snprintf(buf, sizeof buf, s < 10 ? "%.2f s" : "%.1f s", s);
    return buf;
}

int list(const HistoryOptions& o, const StoredHistory& h, std::ostream& out) {
    if (h.runs.empty()) {
        out << "no runs recorded yet in " << o.db << '\n';
        return 0;
    }
    auto rows = key_rows(h.runs);
    char line[256];
    snprintf(line, sizeof line, "%10s %10s %5s %10s  %-12s %-24s %s\n", "PREDICTED", "LAST PEAK", "RUNS", "LAST TIME",
             "TOOL", "TARGET", "SIGNATURE");
    out << line;
    for (const auto& r : rows) {
        // "+": the last run was killed, so its peak is a lower bound.
        std::string last = human_bytes(r.last_peak) + (r.last_complete ? "" : "+");
        snprintf(line, sizeof line, "%10s %10s %5d %10s  ", human_bytes(r.predicted).c_str(), last.c_str(), r.runs,
                 duration_text(r.last_duration_s).c_str());
        std::string tool = printable(r.tool), made = printable(r.made);
        tool.resize(std::max<size_t>(tool.size(), 12), ' ');
        made.resize(std::max<size_t>(made.size(), 24), ' ');
        out << line << tool << ' ' << made << ' ' << printable(r.key) << '\n';
    }
    out << rows.size() << (rows.size() == 1 ? " signature, " : " signatures, ") << h.runs.size()
        << (h.runs.size() == 1 ? " run" : " runs") << " in " << o.db << '\n';
    return 0;
}

int export_json(const StoredHistory& h, std::ostream& out) {
    for (const auto& r : h.runs) {
        nlohmann::ordered_json j{{"key", r.key},
                                 {"tool", r.tool},
                                 {"command", r.command},
                                 {"target", r.target},
                                 {"package", r.package},
                                 {"peak", r.peak},
                                 {"duration_s", r.duration_s},
                                 {"peak_at_s", r.peak_at_s},
                                 {"inputs", r.inputs},
                                 {"input_bytes", r.input_bytes},
                                 {"complete", r.complete},
                                 {"unix_time", r.unix_time}};
        out << json_line(j) << '\n';
    }
    return 0;
}

}  // namespace

int run_history(const HistoryOptions& o, std::ostream& out, std::ostream& err) {
    using Action = HistoryOptions::Action;
    if (o.action == Action::Forget) {
        Forgotten f = forget_history(o.db, o.pattern, o.all);
        if (f.missing) {
            out << "no history yet at " << o.db << "; nothing to forget\n";
            return 0;
        }
        out << "forgot " << f.runs << (f.runs == 1 ? " run" : " runs") << " of " << f.keys
            << (f.keys == 1 ? " signature" : " signatures");
        if (!o.all) out << " containing \"" << o.pattern << "\"";
        out << " in " << o.db << '\n';
        return 0;
    }
    StoredHistory h = read_history(o.db);
    if (h.missing) {
        (o.action == Action::List ? out : err) << "no history yet at " << o.db << '\n';
        return 0;
    }
    return o.action == Action::List ? list(o, h, out) : export_json(h, out);
}

}  // namespace swamp
