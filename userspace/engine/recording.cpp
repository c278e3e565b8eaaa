#include "engine/recording.hpp"

#include <istream>

#include "source/event_json.hpp"
#include "util/json_line.hpp"

namespace swamp {

nlohmann::json input_json(const DecisionInput& in) {
    nlohmann::json cpu = nlohmann::json::object();
    for (auto [job, cpus] : in.cpu_use) cpu[std::to_string(job)] = cpus;
    return nlohmann::json{{"v", kJsonSchemaVersion},
                          {"event", "input"},
                          {"ts_ns", in.now_ns},
                          {"timer", in.from_timer},
                          {"headroom", in.mem.headroom},
                          {"scale", in.mem.scale},
                          {"psi_full_avg10", in.mem.psi_full_avg10},
                          {"source", in.mem.source},
                          {"blocked", in.blocked},
                          {"cpu_use", cpu}};
}

std::optional<DecisionInput> input_from_json(const nlohmann::json& j) {
    if (!j.is_object() || get_or<std::string>(j, "event", "") != "input" || !j.contains("ts_ns")) return std::nullopt;
    DecisionInput in;
    try {
        in.now_ns = j.at("ts_ns").get<uint64_t>();
        in.from_timer = get_or(j, "timer", false);
        in.mem.headroom = get_or<int64_t>(j, "headroom", 0);
        in.mem.scale = get_or<uint64_t>(j, "scale", 0);
        in.mem.psi_full_avg10 = get_or<double>(j, "psi_full_avg10", 0);
        in.mem.source = get_or<std::string>(j, "source", "recorded");
        if (auto b = j.find("blocked"); b != j.end() && b->is_array())
            for (const auto& id : *b) in.blocked.insert(id.get<uint64_t>());
        if (auto c = j.find("cpu_use"); c != j.end() && c->is_object())
            for (const auto& [job, cpus] : c->items()) in.cpu_use[std::stoull(job)] = cpus.get<double>();
    } catch (const std::exception&) {
        return std::nullopt;
    }
    return in;
}

nlohmann::json prediction_json(uint64_t ts_ns, uint64_t job, const Job& j) {
    return nlohmann::json{{"v", kJsonSchemaVersion},       {"event", "prediction"},       {"ts_ns", ts_ns},
                          {"job", job},                    {"peak", j.predicted_peak},    {"run_s", j.predicted_s},
                          {"peak_at_s", j.predicted_peak_s}, {"runs", j.predicted_runs},
                          {"at_least", j.predicted_at_least}};
}

nlohmann::json protect_json(uint64_t ts_ns, uint64_t job) {
    return nlohmann::json{{"v", kJsonSchemaVersion}, {"event", "protect"}, {"ts_ns", ts_ns}, {"job", job}};
}

nlohmann::json settings_json(const EngineSettings& s) {
    const PolicyConfig& p = s.policy;
    return nlohmann::json{{"v", kJsonSchemaVersion},
                          {"event", "settings"},
                          {"horizon_s", p.horizon_s},
                          {"low_watermark", p.low_watermark},
                          {"high_watermark", p.high_watermark},
                          {"settle_s", p.settle_s},
                          {"min_run_s", p.min_run_s},
                          {"max_stops_per_min", p.max_stops_per_min},
                          {"min_growth", p.min_growth},
                          {"thrash_majflt_per_s", p.thrash_majflt_per_s},
                          {"psi_full_pct", p.psi_full_pct},
                          {"growth_reserve", p.growth_reserve},
                          {"deadlock_s", p.deadlock_s},
                          {"livelock_s", p.livelock_s},
                          {"crawl_majflt_per_s", p.crawl_majflt_per_s},
                          {"faults_counted", p.faults_counted},
                          {"cpus", p.cpus},
                          {"rss_step", p.rss_step},
                          {"max_running", s.caps.max_running},
                          {"pause", s.caps.pause},
                          {"drain", s.caps.drain},
                          {"drivers", s.tree.drivers},
                          {"shells", s.tree.shells},
                          {"growth_tau_s", s.tree.growth_tau_s},
                          {"fault_stale_s", s.tree.fault_stale_s},
                          {"growth_stale_s", s.tree.growth_stale_s}};
}

std::optional<EngineSettings> recorded_settings(std::istream& in) {
    for (std::string text; std::getline(in, text);) {
        auto j = nlohmann::json::parse(text, nullptr, false);
        if (j.is_discarded() || !j.is_object()) continue;
        std::string kind = get_or<std::string>(j, "event", "");
        if (kind == "exec" || kind == "fork" || kind == "exit" || kind == "rss" || kind == "faults") return std::nullopt;
        if (kind != "settings") continue;
        EngineSettings s;
        PolicyConfig& p = s.policy;
        p.horizon_s = get_or(j, "horizon_s", p.horizon_s);
        p.low_watermark = get_or(j, "low_watermark", p.low_watermark);
        p.high_watermark = get_or(j, "high_watermark", p.high_watermark);
        p.settle_s = get_or(j, "settle_s", p.settle_s);
        p.min_run_s = get_or(j, "min_run_s", p.min_run_s);
        p.max_stops_per_min = get_or(j, "max_stops_per_min", p.max_stops_per_min);
        p.min_growth = get_or(j, "min_growth", p.min_growth);
        p.thrash_majflt_per_s = get_or(j, "thrash_majflt_per_s", p.thrash_majflt_per_s);
        p.psi_full_pct = get_or(j, "psi_full_pct", p.psi_full_pct);
        p.growth_reserve = get_or(j, "growth_reserve", p.growth_reserve);
        p.deadlock_s = get_or(j, "deadlock_s", p.deadlock_s);
        p.livelock_s = get_or(j, "livelock_s", p.livelock_s);
        p.crawl_majflt_per_s = get_or(j, "crawl_majflt_per_s", p.crawl_majflt_per_s);
        p.faults_counted = get_or(j, "faults_counted", p.faults_counted);
        p.cpus = get_or(j, "cpus", p.cpus);
        p.rss_step = get_or(j, "rss_step", p.rss_step);
        s.caps.max_running = get_or(j, "max_running", s.caps.max_running);
        s.caps.pause = get_or(j, "pause", s.caps.pause);
        s.caps.drain = get_or(j, "drain", s.caps.drain);
        s.tree.drivers = get_or(j, "drivers", s.tree.drivers);
        s.tree.shells = get_or(j, "shells", s.tree.shells);
        s.tree.growth_tau_s = get_or(j, "growth_tau_s", s.tree.growth_tau_s);
        s.tree.fault_stale_s = get_or(j, "fault_stale_s", s.tree.fault_stale_s);
        s.tree.growth_stale_s = get_or(j, "growth_stale_s", s.tree.growth_stale_s);
        return s;
    }
    return std::nullopt;
}

RecordingRun replay_recording(ReplaySource& src, Engine& engine, const CarryOut& carry_out) {
    RecordingRun run;
    src.on_annotation([&](const nlohmann::json& j, size_t) {
        std::string kind = get_or<std::string>(j, "event", "");
        if (kind == "start") {
            if (auto root = get_or<uint32_t>(j, "root_pid", 0))
                engine.tree().add_root(root, 0, "root", get_or<uint64_t>(j, "ts_ns", 0));
        } else if (kind == "input") {
            if (auto in = input_from_json(j)) {
                run.inputs++;
                for (const Action& a : engine.decide(*in, carry_out)) run.actions.push_back({in->now_ns, a});
            }
        } else if (kind == "prediction") {
            engine.tree().set_prediction(get_or<uint64_t>(j, "job", 0), get_or<uint64_t>(j, "peak", 0),
                                         get_or<double>(j, "run_s", 0), get_or<double>(j, "peak_at_s", 0),
                                         get_or<int>(j, "runs", 0), get_or<bool>(j, "at_least", false));
        } else if (kind == "protect") {
            engine.tree().set_protected(get_or<uint64_t>(j, "job", 0));
        } else if (kind == "decision") {
            run.recorded.push_back({get_or<uint64_t>(j, "ts_ns", 0), get_or<std::string>(j, "action", ""),
                                    get_or<uint64_t>(j, "job", 0), get_or<std::string>(j, "comm", ""),
                                    get_or<std::string>(j, "reason", ""),
                                    rule_from_name(get_or<std::string>(j, "rule", ""))});
        }
    });
    auto sink = [&](const Event& e, std::span<const std::byte>) {
        if (untracked(e)) return;  // as the controller: the kernel side follows it no more
        engine.apply(e);
        run.events++;
    };
    while (src.drain(sink) > 0) {
    }
    src.on_annotation(nullptr);
    return run;
}

}  // namespace swamp
