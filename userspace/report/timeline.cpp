#include "report/timeline.hpp"

#include <algorithm>
#include <csignal>
#include <map>
#include <set>
#include <type_traits>

#include "source/replay_source.hpp"
#include "util/error.hpp"

namespace swamp {

namespace {

// Times are kept in kernel ns while reading: the origin is known only at the end
// (a trace without a "start" line starts at its first event).
struct NsSample {
    uint64_t ts = 0;
    uint64_t bytes = 0;
};

struct NsSpan {
    JobState state = JobState::Stopped;
    uint64_t from = 0;
    std::optional<uint64_t> to;
    std::string reason;
};

struct Row {
    uint64_t id = 0;
    uint32_t root_pid = 0;
    std::string name, command, package;
    uint64_t start = 0;
    std::optional<uint64_t> end;
    bool dissolved = false;  // a wrapper that turned into a driver: not a job after all
    uint64_t peak = 0;
    std::vector<NsSample> rss;
    std::vector<NsSpan> waits;
    std::vector<uint64_t> killed;
};

// A recorded "CATEGORY/PF", checked again: a trace is input like any other.
std::string package_name_of(const std::string& text) {
    size_t slash = text.find('/');
    return slash == std::string::npos ? "" : package_name(std::string_view(text).substr(0, slash), std::string_view(text).substr(slash + 1));
}

class Reader {
public:
    Reader(const std::string& name, const TreeConfig& cfg) : name_(name), tree_(cfg) {}

    Timeline read(std::istream& in) {
        ReplaySource src(in, name_);
        src.on_annotation([this](const nlohmann::json& j, size_t line) { annotation(j, line); });
        while (auto item = src.next()) event(item->event);
        uint64_t origin = src.start_ns().value_or(first_ts_.value_or(0));
        return finish(origin);
    }

private:
    UserError fail(size_t line, const std::string& why) const {
        return UserError(ExitCode::Failure, name_ + ":" + std::to_string(line) + ": " + why);
    }

    // A whole number field of an annotation line; `fallback` when absent, an error when malformed.
    template <typename T>
    T number(const nlohmann::json& j, const char* key, size_t line, std::optional<T> fallback = std::nullopt) const {
        auto it = j.find(key);
        if (it == j.end()) {
            if (fallback) return *fallback;
            throw fail(line, std::string("no \"") + key + "\" in a \"" + j.value("event", "") + "\" line");
        }
        if (!it->is_number_integer() || (std::is_unsigned_v<T> && !it->is_number_unsigned()))
            throw fail(line, std::string("\"") + key + "\" is not a whole number");
        return it->get<T>();
    }

    void seen(uint64_t ts) {
        if (!first_ts_ || ts < *first_ts_) first_ts_ = ts;
        last_ts_ = std::max(last_ts_, ts);
    }

    void annotation(const nlohmann::json& j, size_t line) {
        std::string kind = j.value("event", "");
        if (kind == "start") {
            if (auto root = number<uint32_t>(j, "root_pid", line, 0u))
                tree_.add_root(root, 0, "root", number<uint64_t>(j, "ts_ns", line, 0ull));
        } else if (kind == "memory") {
            uint64_t ts = number<uint64_t>(j, "ts_ns", line);
            int64_t headroom = number<int64_t>(j, "headroom", line);
            int64_t budget = int64_t(tree_.total_rss()) + headroom;
            budget_.push_back({ts, uint64_t(std::max<int64_t>(0, budget))});
            seen(ts);
        } else if (kind == "decision") {
            decision(j, line);
        } else if (kind == "package") {  // a driver's emerge package: its jobs from then on are of it
            auto pkg = j.find("package");
            if (pkg == j.end() || !pkg->is_string()) throw fail(line, "a package line without a \"package\" string");
            tree_.set_package(number<uint32_t>(j, "pid", line), package_name_of(pkg->get<std::string>()));
        } else if (kind == "drops") {
            dropped_ = std::max(dropped_, number<uint64_t>(j, "dropped", line, 0ull));
        }
    }

    // The row a decision means: its job id in the replayed model, checked
    // against the root pid; else the live job with that root pid.
    Row* decision_row(uint64_t job, uint32_t pid) {
        if (auto it = row_of_.find(job); it != row_of_.end()) {
            Row& r = rows_[it->second];
            if (!pid || r.root_pid == pid) return &r;
        }
        for (auto it = rows_.rbegin(); it != rows_.rend(); ++it)
            if (it->root_pid == pid && !it->end && !it->dissolved) {
                decisions_by_pid_++;
                return &*it;
            }
        return nullptr;
    }

    void decision(const nlohmann::json& j, size_t line) {
        auto action = j.find("action");
        if (action == j.end() || !action->is_string()) throw fail(line, "a decision without an \"action\" string");
        std::string a = action->get<std::string>();
        if (a != "stop" && a != "hold" && a != "resume") throw fail(line, "unknown decision action \"" + a + "\"");
        uint64_t ts = number<uint64_t>(j, "ts_ns", line);
        Row* r = decision_row(number<uint64_t>(j, "job", line), number<uint32_t>(j, "pid", line, 0u));
        seen(ts);
        decisions_++;
        if (!r) {
            decisions_unmatched_++;
            return;
        }
        close_wait(*r, ts);
        if (a != "resume") {
            auto reason = j.find("reason");
            r->waits.push_back({a == "hold" ? JobState::Held : JobState::Stopped, ts, std::nullopt,
                                reason != j.end() && reason->is_string() ? reason->get<std::string>() : ""});
        }
    }

    static void close_wait(Row& r, uint64_t ts) {
        if (!r.waits.empty() && !r.waits.back().to) r.waits.back().to = ts;
    }

    Row* row(uint64_t id) {
        auto it = row_of_.find(id);
        return it == row_of_.end() ? nullptr : &rows_[it->second];
    }

    void event(const Event& e) {
        uint64_t ts = event_ts(e);
        seen(ts);
        uint32_t pid = event_pid(e);
        std::set<uint64_t> touched;
        const Process* before = tree_.process(pid);
        if (before && before->job) touched.insert(before->job);
        if (auto* x = std::get_if<ExitEvent>(&e); x && x->signal() == SIGKILL) {
            if (Row* r = before && before->job ? row(before->job) : nullptr)
                r->killed.push_back(ts);
            else
                killed_outside_.push_back(ts);
        }

        TreeDelta d = tree_.apply(e);
        for (uint64_t id : d.new_jobs) {
            row_of_[id] = rows_.size();
            Row& r = rows_.emplace_back();
            r.id = id;
            r.start = ts;
        }
        for (uint64_t id : d.dissolved_jobs)
            if (Row* r = row(id)) r->dissolved = true;
        for (const auto& [id, p] : d.joined) touched.insert(id);
        if (const Process* after = tree_.process(pid); after && after->job) touched.insert(after->job);

        for (uint64_t id : touched) {
            Row* r = row(id);
            const Job* j = tree_.job(id);
            if (!r || !j) continue;
            r->root_pid = j->root_pid;
            r->name = j->name;
            r->command = j->command;
            r->package = j->package;
            r->peak = std::max(r->peak, j->peak);
            if (r->rss.empty() || r->rss.back().bytes != j->rss) r->rss.push_back({ts, j->rss});
        }
        for (uint64_t id : d.ended_jobs) {
            if (Row* r = row(id)) {
                r->end = ts;
                if (r->rss.empty() || r->rss.back().bytes) r->rss.push_back({ts, 0});
                close_wait(*r, ts);
            }
        }
        uint64_t total = tree_.total_rss();
        if (total_.empty() || total_.back().bytes != total) total_.push_back({ts, total});
    }

    Timeline finish(uint64_t origin) {
        auto sec = [origin](uint64_t ts) { return ts > origin ? (ts - origin) / 1e9 : 0.0; };
        auto samples = [&](const std::vector<NsSample>& in) {
            std::vector<Sample> out;
            out.reserve(in.size());
            for (const NsSample& s : in) out.push_back({sec(s.ts), s.bytes});
            return out;
        };
        Timeline t;
        t.name = name_;
        t.end = sec(last_ts_);
        for (const Row& r : rows_) {
            if (r.dissolved) continue;
            TimelineJob j{r.id, r.root_pid, r.name, r.command, r.package, sec(r.start), sec(r.end.value_or(last_ts_)),
                          r.end.has_value(), r.peak, samples(r.rss), {}, {}};
            for (const NsSpan& w : r.waits)
                j.waits.push_back({w.state, sec(w.from), sec(w.to.value_or(r.end.value_or(last_ts_))), w.reason});
            for (uint64_t k : r.killed) j.killed.push_back(sec(k));
            t.jobs.push_back(std::move(j));
        }
        std::stable_sort(t.jobs.begin(), t.jobs.end(),
                         [](const TimelineJob& a, const TimelineJob& b) { return a.start < b.start; });
        t.total_rss = samples(total_);
        t.budget = samples(budget_);
        for (uint64_t k : killed_outside_) t.killed_outside_jobs.push_back(sec(k));
        t.dropped = dropped_;
        t.decisions = decisions_;
        t.decisions_by_pid = decisions_by_pid_;
        t.decisions_unmatched = decisions_unmatched_;
        return t;
    }

    std::string name_;
    Tree tree_;
    std::vector<Row> rows_;
    std::map<uint64_t, size_t> row_of_;  // job id -> rows_ index
    std::vector<NsSample> total_, budget_;
    std::vector<uint64_t> killed_outside_;
    std::optional<uint64_t> first_ts_;
    uint64_t last_ts_ = 0;
    uint64_t dropped_ = 0;
    size_t decisions_ = 0, decisions_by_pid_ = 0, decisions_unmatched_ = 0;
};

}  // namespace

Timeline read_timeline(std::istream& in, const std::string& name, const TreeConfig& cfg) {
    return Reader(name, cfg).read(in);
}

std::vector<JobCount> job_counts(const Timeline& t) {
    std::vector<const TimelineJob*> jobs;
    for (const TimelineJob& j : t.jobs) jobs.push_back(&j);
    return job_counts(jobs);
}

std::vector<JobCount> job_counts(const std::vector<const TimelineJob*>& jobs) {
    struct Change {
        double t;
        int running, stopped, held;
    };
    std::vector<Change> changes;
    for (const TimelineJob* job : jobs) {
        const TimelineJob& j = *job;
        changes.push_back({j.start, 1, 0, 0});
        changes.push_back({j.end, -1, 0, 0});
        for (const WaitSpan& w : j.waits) {  // waiting, not running
            bool held = w.state == JobState::Held;
            changes.push_back({w.from, -1, held ? 0 : 1, held ? 1 : 0});
            changes.push_back({w.to, 1, held ? 0 : -1, held ? -1 : 0});
        }
    }
    std::stable_sort(changes.begin(), changes.end(), [](const Change& a, const Change& b) { return a.t < b.t; });
    std::vector<JobCount> out{{0, 0, 0, 0}};
    long running = 0, stopped = 0, held = 0;
    for (size_t i = 0; i < changes.size(); i++) {
        running += changes[i].running;
        stopped += changes[i].stopped;
        held += changes[i].held;
        if (i + 1 < changes.size() && changes[i + 1].t == changes[i].t) continue;  // one step per time
        JobCount c{changes[i].t, unsigned(std::max(0L, running)), unsigned(std::max(0L, stopped)),
                   unsigned(std::max(0L, held))};
        if (out.back().t == c.t) out.back() = c;
        else if (out.back().running != c.running || out.back().stopped != c.stopped || out.back().held != c.held)
            out.push_back(c);
    }
    return out;
}

std::vector<size_t> rows_to_draw(const Timeline& t, size_t top, uint64_t min_peak) {
    std::vector<size_t> rows;
    for (size_t i = 0; i < t.jobs.size(); i++)
        if (t.jobs[i].peak >= min_peak) rows.push_back(i);
    if (top && rows.size() > top) {
        // the `top` highest peaks (the earlier job first among equals), back in start order
        std::stable_sort(rows.begin(), rows.end(), [&](size_t a, size_t b) { return t.jobs[a].peak > t.jobs[b].peak; });
        rows.resize(top);
        std::sort(rows.begin(), rows.end());
    }
    return rows;
}

}  // namespace swamp
