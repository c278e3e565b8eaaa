#include "control/status.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "control/ctl_protocol.hpp"
#include "util/json_line.hpp"
#include "trace/text.hpp"
#include "util/printable.hpp"

namespace swamp {

std::string job_row_label(const JobRow& j) {
    return j.target.empty() || j.target == j.name ? j.name : j.name + " " + j.target;
}

std::vector<JobRow> job_rows(const Tree& tree, const std::map<uint64_t, std::string>& reasons, uint64_t now_ns) {
    std::vector<JobRow> rows;
    for (const auto& [id, j] : tree.jobs()) {
        JobRow r{id, j.root_pid, j.name, j.state, j.rss, j.peak,
                 now_ns > j.state_since_ns ? (now_ns - j.state_since_ns) / 1e9 : 0.0, "", job_target(j.command),
                 j.package, j.growth, std::nullopt, false};
        if (j.state != JobState::Running)
            if (auto it = reasons.find(id); it != reasons.end()) r.reason = it->second;
        rows.push_back(std::move(r));
    }
    return rows;
}

uint64_t jobs_in(const StatusSnapshot& s, JobState state) {
    uint64_t n = 0;
    for (const JobRow& j : s.jobs) n += j.state == state;
    return n;
}

const char* overall_state(const StatusSnapshot& s) {
    if (!s.up) return "exited";
    if (s.caps.pause) return "paused";
    if (s.caps.drain) return "draining";
    if (jobs_in(s, JobState::Stopped) || jobs_in(s, JobState::Held)) return "throttling";
    return s.jobs.empty() ? "idle" : "running";
}

namespace {

std::string signed_bytes(int64_t b) { return b < 0 ? "-" + human_bytes(uint64_t(-b)) : human_bytes(uint64_t(b)); }

std::string seconds(double s) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.1f", s);
    return buf;
}

// A Prometheus label value: the name printable (one line, UTF-8, no control
// characters), then backslash and quote escaped as the format says.
std::string label_value(const std::string& raw) {
    std::string out;
    for (char c : printable(raw)) {
        if (c == '\\' || c == '"') out += '\\';
        out += c;
    }
    return out;
}

}  // namespace

std::string format_status_text(const StatusSnapshot& s) {
    std::ostringstream o;
    o << "swamp-bpf (pid " << s.pid << "): " << overall_state(s) << ", managing " << printable(s.managing) << " with "
      << s.actuator << " for " << seconds(s.uptime_s) << " s\n";
    o << "memory: headroom " << signed_bytes(s.mem.headroom) << " of " << human_bytes(s.mem.scale) << " ("
      << (s.mem.source == "budget" ? "--mem-budget" : s.mem.source)
      << (s.budget && s.mem.source != "budget" ? ", within --mem-budget " + human_bytes(*s.budget) : "") << "); low mark "
      << human_bytes(s.low_mark) << ", high mark " << human_bytes(s.high_mark) << "; tree RSS "
      << human_bytes(s.tree_rss) << "\n";
    o << "caps: " << describe_caps(s.caps) << "\n";
    o << "totals: " << s.jobs_total << " jobs, " << s.stops << " stops, " << s.holds << " holds at exec, " << s.resumes
      << " resumes, " << s.oom_kills << " OOM kills\n";
    if (s.untracked)
        o << "untracked: " << s.untracked << " processes not tracked (the task map is full: raise --max-tasks)\n";
    o << "jobs: " << jobs_in(s, JobState::Running) << " running, " << jobs_in(s, JobState::Stopped) << " stopped, "
      << jobs_in(s, JobState::Held) << " held\n";
    if (s.jobs.empty()) return o.str();
    // NAME: the program and what it makes; PACKAGE only when some job belongs to one (emerge)
    bool packages = std::any_of(s.jobs.begin(), s.jobs.end(), [](const JobRow& j) { return !j.package.empty(); });
    char line[224];
    snprintf(line, sizeof line, "%6s %8s %-28s %-8s %9s %9s %8s  %s%s\n", "JOB", "PID", "NAME", "STATE", "RSS", "PEAK",
             "FOR", packages ? "PACKAGE  " : "", "WHY");
    o << line;
    for (const JobRow& j : s.jobs) {
        snprintf(line, sizeof line, "%6llu %8u %-28.28s %-8s %9s %9s %7ss", (unsigned long long)j.id, j.root_pid,
                 comm_column(job_row_label(j), 28).c_str(), job_state_name(j.state), human_bytes(j.rss).c_str(),
                 human_bytes(j.peak).c_str(), seconds(j.in_state_s).c_str());
        std::string why = j.run_now ? "run now by the user" : j.reason;
        o << line << (packages ? "  " + printable(j.package.empty() ? "-" : j.package) : "")
          << (why.empty() ? "" : "  " + printable(why)) << "\n";
    }
    return o.str();
}

std::string format_status_json(const StatusSnapshot& s) {
    nlohmann::json jobs = nlohmann::json::array();
    for (const JobRow& j : s.jobs)
        jobs.push_back({{"id", j.id}, {"pid", j.root_pid}, {"name", j.name}, {"target", j.target},
                        {"package", j.package}, {"state", job_state_name(j.state)},
                        {"rss", j.rss}, {"peak", j.peak}, {"in_state_s", j.in_state_s}, {"reason", j.reason},
                        {"growth", j.growth}, {"cpu", j.cpu ? nlohmann::json(*j.cpu) : nlohmann::json(nullptr)},
                        {"run_now", j.run_now}});
    nlohmann::json o{
        {"state", overall_state(s)},
        {"pid", s.pid},
        {"time", s.unix_time},
        {"uptime_s", s.uptime_s},
        {"managing", s.managing},
        {"actuator", s.actuator},
        {"memory",
         {{"headroom", s.mem.headroom},
          {"scale", s.mem.scale},
          {"source", s.mem.source},
          {"budget", s.budget ? nlohmann::json(*s.budget) : nlohmann::json(nullptr)},
          {"low_mark", s.low_mark},
          {"high_mark", s.high_mark},
          {"tree_rss", s.tree_rss}}},
        {"caps", {{"max_running", s.caps.max_running}, {"pause", s.caps.pause}, {"drain", s.caps.drain}}},
        {"totals",
         {{"jobs", s.jobs_total},
          {"stops", s.stops},
          {"holds", s.holds},
          {"resumes", s.resumes},
          {"oom_kills", s.oom_kills},
          {"untracked", s.untracked},
          {"stopped_s", s.stopped_s},
          {"held_s", s.held_s}}},
        {"jobs", jobs},
    };
    return json_line(o) + "\n";
}

std::optional<StatusSnapshot> parse_status_json(const std::string& text, std::string& error) {
    nlohmann::json o = nlohmann::json::parse(text, nullptr, false);
    if (!o.is_object()) {
        error = "the status is not a JSON object";
        return std::nullopt;
    }
    // a field of the wrong type reads as its default: never throws
    auto get = [](const nlohmann::json& obj, const char* key, auto fallback) {
        using T = decltype(fallback);
        auto it = obj.find(key);
        if (it == obj.end()) return fallback;
        if constexpr (std::is_same_v<T, std::string>) return it->is_string() ? it->template get<std::string>() : fallback;
        else if constexpr (std::is_same_v<T, bool>) return it->is_boolean() ? it->template get<bool>() : fallback;
        else return it->is_number() ? it->template get<T>() : fallback;
    };
    const nlohmann::json none = nlohmann::json::object();
    auto sub = [&](const char* key) -> const nlohmann::json& {
        auto it = o.find(key);
        return it != o.end() && it->is_object() ? *it : none;
    };
    StatusSnapshot s;
    s.up = get(o, "state", std::string()) != "exited";
    s.pid = get(o, "pid", pid_t(0));
    s.unix_time = get(o, "time", uint64_t(0));
    s.uptime_s = get(o, "uptime_s", 0.0);
    s.managing = get(o, "managing", std::string());
    s.actuator = get(o, "actuator", std::string());
    const nlohmann::json& m = sub("memory");
    s.mem.headroom = get(m, "headroom", int64_t(0));
    s.mem.scale = get(m, "scale", uint64_t(0));
    s.mem.source = get(m, "source", std::string());
    if (auto it = m.find("budget"); it != m.end() && it->is_number_unsigned()) s.budget = it->get<uint64_t>();
    s.low_mark = get(m, "low_mark", uint64_t(0));
    s.high_mark = get(m, "high_mark", uint64_t(0));
    s.tree_rss = get(m, "tree_rss", uint64_t(0));
    const nlohmann::json& c = sub("caps");
    s.caps.max_running = get(c, "max_running", 0);
    s.caps.pause = get(c, "pause", false);
    s.caps.drain = get(c, "drain", false);
    const nlohmann::json& t = sub("totals");
    s.jobs_total = get(t, "jobs", uint64_t(0));
    s.stops = get(t, "stops", uint64_t(0));
    s.holds = get(t, "holds", uint64_t(0));
    s.resumes = get(t, "resumes", uint64_t(0));
    s.oom_kills = get(t, "oom_kills", uint64_t(0));
    s.untracked = get(t, "untracked", uint64_t(0));
    s.stopped_s = get(t, "stopped_s", 0.0);
    s.held_s = get(t, "held_s", 0.0);
    if (auto it = o.find("jobs"); it != o.end() && it->is_array())
        for (const nlohmann::json& j : *it) {
            if (!j.is_object()) continue;
            JobRow r;
            r.id = get(j, "id", uint64_t(0));
            r.root_pid = get(j, "pid", uint32_t(0));
            r.name = get(j, "name", std::string());
            std::string state = get(j, "state", std::string("running"));
            r.state = state == "stopped" ? JobState::Stopped : state == "held" ? JobState::Held : JobState::Running;
            r.rss = get(j, "rss", uint64_t(0));
            r.peak = get(j, "peak", uint64_t(0));
            r.in_state_s = get(j, "in_state_s", 0.0);
            r.reason = get(j, "reason", std::string());
            r.target = get(j, "target", std::string());
            r.package = get(j, "package", std::string());
            r.growth = get(j, "growth", 0.0);
            if (auto cpu = j.find("cpu"); cpu != j.end() && cpu->is_number()) r.cpu = cpu->get<double>();
            r.run_now = get(j, "run_now", false);
            s.jobs.push_back(std::move(r));
        }
    return s;
}

std::string format_status_file(const StatusSnapshot& s) {
    std::ostringstream o;
    o << "state=" << overall_state(s) << "\n"
      << "pid=" << s.pid << "\n"
      << "updated=" << s.unix_time << "\n"
      << "uptime_s=" << seconds(s.uptime_s) << "\n"
      << "managing=" << printable(s.managing) << "\n"
      << "jobs_running=" << jobs_in(s, JobState::Running) << "\n"
      << "jobs_stopped=" << jobs_in(s, JobState::Stopped) << "\n"
      << "jobs_held=" << jobs_in(s, JobState::Held) << "\n"
      << "max_running=" << s.caps.max_running << "\n"
      << "paused=" << (s.caps.pause ? 1 : 0) << "\n"
      << "draining=" << (s.caps.drain ? 1 : 0) << "\n"
      << "headroom_bytes=" << s.mem.headroom << "\n"
      << "limit_bytes=" << s.mem.scale << "\n"
      << "tree_rss_bytes=" << s.tree_rss << "\n"
      << "jobs_total=" << s.jobs_total << "\n"
      << "stops_total=" << s.stops << "\n"
      << "holds_total=" << s.holds << "\n"
      << "resumes_total=" << s.resumes << "\n"
      << "oom_kills=" << s.oom_kills << "\n"
      << "untracked_total=" << s.untracked << "\n"
      << "stopped_seconds_total=" << seconds(s.stopped_s) << "\n"
      << "held_seconds_total=" << seconds(s.held_s) << "\n";
    for (const JobRow& j : s.jobs)
        o << "job." << j.id << "=" << job_state_name(j.state) << " pid=" << j.root_pid << " rss_bytes=" << j.rss
          << " peak_bytes=" << j.peak << " in_state_s=" << seconds(j.in_state_s) << " name=" << printable(j.name)
          << (j.target.empty() ? "" : " target=" + printable(j.target))
          << (j.package.empty() ? "" : " package=" + printable(j.package))
          << (j.reason.empty() ? "" : " why=" + printable(j.reason)) << "\n";
    return o.str();
}

std::string service_status_line(std::optional<size_t> builds, uint64_t running, uint64_t waiting, const Caps& caps) {
    auto count = [](uint64_t n, const char* what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); };
    std::string out;
    if (builds && !*builds && !running && !waiting) out = "no build";
    else out = (builds ? count(*builds, "build") + ", " : "") + count(running, "job") + " running, " + std::to_string(waiting) + " waiting";
    if (caps.pause) out += "; paused";
    else if (caps.drain) out += "; draining";
    return out;
}

std::string format_metrics(const StatusSnapshot& s) {
    std::ostringstream o;
    auto metric = [&](const char* name, const char* type, const char* help) {
        o << "# HELP swamp_bpf_" << name << ' ' << help << "\n# TYPE swamp_bpf_" << name << ' ' << type << "\n";
    };
    metric("build_info", "gauge", "The version of swamp-bpf that writes this file; always 1.");
    o << "swamp_bpf_build_info{version=\"" << label_value(SWAMP_VERSION) << "\"} 1\n";
    metric("up", "gauge", "1 while the controller runs, 0 in the file it leaves at exit.");
    o << "swamp_bpf_up " << (s.up ? 1 : 0) << "\n";
    metric("start_timestamp_seconds", "gauge", "Unix time of the controller's start.");
    o << "swamp_bpf_start_timestamp_seconds " << seconds(s.start_time) << "\n";
    metric("jobs", "gauge", "Live jobs by state.");
    for (JobState st : {JobState::Running, JobState::Stopped, JobState::Held})
        o << "swamp_bpf_jobs{state=\"" << job_state_name(st) << "\"} " << jobs_in(s, st) << "\n";
    metric("job_wait_seconds_total", "counter", "Seconds jobs spent stopped or held at exec, added up over jobs.");
    o << "swamp_bpf_job_wait_seconds_total{state=\"stopped\"} " << seconds(s.stopped_s) << "\n";
    o << "swamp_bpf_job_wait_seconds_total{state=\"held\"} " << seconds(s.held_s) << "\n";
    metric("headroom_bytes", "gauge", "Memory the build may still grow by (negative: over).");
    o << "swamp_bpf_headroom_bytes " << s.mem.headroom << "\n";
    metric("limit_bytes", "gauge", "The memory the watermarks are relative to (cgroup limit, budget or RAM).");
    o << "swamp_bpf_limit_bytes{source=\"" << label_value(s.mem.source) << "\"} " << s.mem.scale << "\n";
    metric("tree_rss_bytes", "gauge", "Resident memory of every process of the build tree.");
    o << "swamp_bpf_tree_rss_bytes " << s.tree_rss << "\n";
    metric("max_running", "gauge", "The cap on running jobs (0: none).");
    o << "swamp_bpf_max_running " << s.caps.max_running << "\n";
    metric("paused", "gauge", "1 while paused by the user.");
    o << "swamp_bpf_paused " << (s.caps.pause ? 1 : 0) << "\n";
    metric("draining", "gauge", "1 while draining (running jobs finish, nothing starts).");
    o << "swamp_bpf_draining " << (s.caps.drain ? 1 : 0) << "\n";
    metric("jobs_total", "counter", "Jobs seen since the start.");
    o << "swamp_bpf_jobs_total " << s.jobs_total << "\n";
    metric("stops_total", "counter", "Jobs stopped while running.");
    o << "swamp_bpf_stops_total " << s.stops << "\n";
    metric("holds_total", "counter", "Jobs held at exec, before they grew.");
    o << "swamp_bpf_holds_total " << s.holds << "\n";
    metric("resumes_total", "counter", "Jobs resumed.");
    o << "swamp_bpf_resumes_total " << s.resumes << "\n";
    metric("oom_kills_total", "counter", "OOM kills in the build's memory cgroup since the start.");
    o << "swamp_bpf_oom_kills_total " << s.oom_kills << "\n";
    metric("untracked_total", "counter", "Processes not tracked because the task map was full (raise --max-tasks).");
    o << "swamp_bpf_untracked_total " << s.untracked << "\n";
    // The largest jobs by rank, not by id: at most kMetricsTopJobs series.
    std::vector<const JobRow*> top;
    for (const JobRow& j : s.jobs) top.push_back(&j);
    std::stable_sort(top.begin(), top.end(), [](const JobRow* a, const JobRow* b) { return a->rss > b->rss; });
    top.resize(std::min(top.size(), kMetricsTopJobs));
    metric("top_job_rss_bytes", "gauge", "Resident memory of the largest live jobs, rank 1 the largest.");
    for (size_t i = 0; i < top.size(); i++)
        o << "swamp_bpf_top_job_rss_bytes{rank=\"" << i + 1 << "\",name=\"" << label_value(top[i]->name)
          << "\",state=\"" << job_state_name(top[i]->state) << "\"} " << top[i]->rss << "\n";
    metric("last_update_timestamp_seconds", "gauge", "Unix time of this file's contents.");
    o << "swamp_bpf_last_update_timestamp_seconds " << s.unix_time << "\n";
    return o.str();
}

}  // namespace swamp
