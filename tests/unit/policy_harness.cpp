#include "policy_harness.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "util/json_line.hpp"

namespace swamp::test {

size_t Fixture::events() const {
    return std::count_if(lines.begin(), lines.end(), [](const FixtureLine& l) { return l.item.has_value(); });
}

size_t Fixture::memory_lines() const {
    return std::count_if(lines.begin(), lines.end(), [](const FixtureLine& l) { return l.memory.has_value(); });
}

size_t ReplayRun::count(ActionType t) const {
    return std::count_if(actions.begin(), actions.end(), [&](const ActionRecord& a) { return a.type == t; });
}

Fixture parse_fixture(std::istream& in, const std::string& name) {
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Fixture fx;
    fx.name = name;

    // 1. The lines ReplaySource skips: start, memory, decision (by line number).
    std::map<size_t, MemoryLine> memory;
    {
        std::istringstream lines(text);
        size_t n = 0;
        for (std::string l; std::getline(lines, l);) {
            n++;
            if (l.find_first_not_of(" \t\r") == std::string::npos) continue;
            auto j = nlohmann::json::parse(l, nullptr, false);
            if (j.is_discarded() || !j.is_object()) continue;  // ReplaySource reports it below
            std::string kind = get_or<std::string>(j, "event", "");
            if (kind == "start") {
                fx.root_pid = get_or<uint32_t>(j, "root_pid", 0);
            } else if (kind == "memory") {
                memory[n] = MemoryLine{get_or<uint64_t>(j, "ts_ns", 0), get_or<int64_t>(j, "headroom", 0),
                                       get_or<uint64_t>(j, "scale", 0), get_or<double>(j, "psi_full_avg10", 0)};
            } else if (kind == "decision") {
                fx.decisions.push_back(RecordedDecision{
                    get_or<uint64_t>(j, "ts_ns", 0), get_or<std::string>(j, "action", ""), get_or<uint64_t>(j, "job", 0),
                    get_or<std::string>(j, "comm", ""), get_or<uint64_t>(j, "rss", 0), get_or<int64_t>(j, "headroom", 0),
                    get_or<std::string>(j, "reason", "")});
            }
        }
    }

    // 2. The events, exactly as ReplaySource reads them; merged by line number.
    std::istringstream events(text);
    ReplaySource src(events, name);
    auto mem = memory.begin();
    while (auto item = src.next()) {
        size_t line = src.line();
        for (; mem != memory.end() && mem->first < line; ++mem) fx.lines.push_back({mem->first, std::nullopt, mem->second});
        fx.lines.push_back({line, std::move(*item), std::nullopt});
    }
    for (; mem != memory.end(); ++mem) fx.lines.push_back({mem->first, std::nullopt, mem->second});
    fx.start_ns = src.start_ns();
    return fx;
}

Fixture load_fixture(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read fixture " + path);
    return parse_fixture(in, path);
}

std::string fixture_path(const std::string& file) {
    if (const char* dir = std::getenv("SWAMP_FIXTURES")) return (std::filesystem::path(dir) / file).string();
    // this file is tests/unit/policy_harness.cpp
    return (std::filesystem::path(__FILE__).parent_path().parent_path() / "fixtures" / file).string();
}

bool more_invested(const JobSnap& a, const JobSnap& b) {
    if (a.rss != b.rss) return a.rss > b.rss;
    if (a.start_ns != b.start_ns) return a.start_ns < b.start_ns;
    return a.id < b.id;
}

bool resumes_before(const JobSnap& a, const JobSnap& b) {
    bool a_held = a.state == JobState::Held, b_held = b.state == JobState::Held;
    if (a_held != b_held) return b_held;
    if (!a_held) return more_invested(a, b);
    if (a.predicted_s != b.predicted_s) return a.predicted_s > b.predicted_s;
    if (a.start_ns != b.start_ns) return a.start_ns < b.start_ns;
    return a.id < b.id;
}

namespace {

class Replayer {
public:
    Replayer(const Fixture& fx, const HarnessOptions& o)
        : fx_(fx), o_(o), engine_(o.tree, o.policy, o.caps), tree_(engine_.tree()), policy_(engine_.policy()) {}

    ReplayRun run() {
        if (fx_.root_pid) tree_.add_root(fx_.root_pid, 0, "root", fx_.start_ns.value_or(0));
        const auto& lines = fx_.lines;
        size_t i = 0;
        while (i < lines.size()) {
            if (lines[i].memory) {
                mem_line_ = *lines[i].memory;
                i++;
                continue;
            }
            // one batch: this event and the ones within batch_ns of it (memory lines in between apply too)
            uint64_t first = event_ts(lines[i].item->event);
            fire_timers(first);
            uint64_t last = first;
            for (; i < lines.size(); i++) {
                if (lines[i].memory) {
                    mem_line_ = *lines[i].memory;
                    continue;
                }
                uint64_t ts = event_ts(lines[i].item->event);
                if (ts > first + o_.batch_ns) break;
                apply_event(lines[i].item->event);
                last = std::max(last, ts);
                if (o_.batch_ns == 0) {
                    i++;
                    break;
                }
            }
            decide(std::max(now_, last), false);
        }
        // after the last event: the timer keeps going while jobs wait
        uint64_t end = now_ + o_.tail_ns;
        while (engine_.timer_due() && *engine_.timer_due() <= end) fire_timers(*engine_.timer_due());
        run_.jobs_ended = tree_.jobs_ended();
        return std::move(run_);
    }

private:
    void apply_event(const Event& e) {
        TreeDelta d = tree_.apply(e);
        run_.events++;
        uint64_t ts = std::max(now_, event_ts(e));
        for (uint64_t id : d.new_jobs) run_.first_seen_ns.emplace(id, ts);
    }

    void fire_timers(uint64_t until) {
        while (engine_.timer_due() && *engine_.timer_due() <= until) {
            uint64_t t = *engine_.timer_due();
            engine_.timer_fired();
            decide(std::max(now_, t), true);
        }
    }

    MemoryView memory_view_now() const {
        MemoryView v;
        if (o_.budget) {
            v.headroom = int64_t(*o_.budget) - int64_t(tree_.total_rss());
            v.scale = *o_.budget;
            v.source = "budget";
        } else if (mem_line_) {
            v.headroom = mem_line_->headroom;
            v.scale = mem_line_->scale;
            v.psi_full_avg10 = mem_line_->psi_full_avg10;
            v.source = "recorded";
        } else {
            // before the first memory line: the first one there is
            for (const auto& l : fx_.lines)
                if (l.memory) {
                    v.headroom = l.memory->headroom;
                    v.scale = l.memory->scale;
                    v.psi_full_avg10 = l.memory->psi_full_avg10;
                    v.source = "recorded";
                    break;
                }
        }
        return v;
    }

    void decide(uint64_t now, bool from_timer) {
        now_ = now;
        tree_.tick(now);
        DecisionPoint p;
        p.ts_ns = now;
        p.from_timer = from_timer;
        p.mem = memory_view_now();
        p.low = policy_.low_watermark(p.mem);
        p.high = policy_.high_watermark(p.mem);
        p.jobs_ended = tree_.jobs_ended();
        for (const auto& [id, j] : tree_.jobs()) {
            JobSnap s{id, j.name, j.rss, j.start_ns, j.growth, j.state, !judged_.count(id), 0, false};
            if (auto it = stopped_at_.find(id); it != stopped_at_.end()) {
                s.ever_stopped = true;
                s.jobs_ended_at_stop = it->second.jobs_ended;
                s.growth_at_stop = it->second.growth;
            }
            p.jobs[id] = s;
            run_.names[id] = j.name;
            judged_.insert(id);
        }
        auto split = [&](std::vector<uint64_t>& running, std::vector<uint64_t>& waiting) {
            for (const auto& [id, j] : tree_.jobs()) {
                (j.state == JobState::Running ? running : waiting).push_back(id);
            }
            auto snap = [&](uint64_t id) {
                const Job* j = tree_.job(id);
                JobSnap s{id, "", j->rss, j->start_ns};
                s.state = j->state;
                s.predicted_s = j->predicted_s;
                return s;
            };
            std::sort(running.begin(), running.end(), [&](uint64_t a, uint64_t b) { return more_invested(snap(a), snap(b)); });
            std::sort(waiting.begin(), waiting.end(), [&](uint64_t a, uint64_t b) { return resumes_before(snap(a), snap(b)); });
        };
        split(p.running, p.waiting);
        if (!p.running.empty()) p.head = p.running.front();

        size_t index = run_.points.size();
        p.actions = engine_.decide({now, from_timer, p.mem, {}, {}}, [&](const Action& a, const Job& j) {
            run_.actions.push_back({now, a.type, a.job, a.reason, a.rule, index});
            if (a.type != ActionType::Resume) stopped_at_[a.job] = {tree_.jobs_ended(), std::max(0.0, j.growth)};
            return true;
        });
        split(p.running_after, p.waiting_after);
        run_.points.push_back(std::move(p));
        for (auto it = stopped_at_.begin(); it != stopped_at_.end();)
            it = tree_.job(it->first) ? std::next(it) : stopped_at_.erase(it);
    }

    const Fixture& fx_;
    const HarnessOptions& o_;
    Engine engine_;  // the controller's loop: the model, the policy, the timer
    Tree& tree_;
    Policy& policy_;
    ReplayRun run_;
    std::optional<MemoryLine> mem_line_;
    uint64_t now_ = 0;
    std::set<uint64_t> judged_;
    struct StopMark {
        uint64_t jobs_ended = 0;  // tree.jobs_ended() at its last stop/hold
        double growth = 0;        // its growth then
    };
    std::map<uint64_t, StopMark> stopped_at_;
};

}  // namespace

ReplayRun replay(const Fixture& fx, const HarnessOptions& opts) { return Replayer(fx, opts).run(); }

}  // namespace swamp::test
