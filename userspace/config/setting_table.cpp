#include "config/setting_table.hpp"

#include <sstream>

#include "util/size.hpp"

namespace swamp {

namespace {

using O = ControllerOptions;
using V = SettingValue;
using Kind = SettingKind;

bool is_word(const V& v) { return std::holds_alternative<std::string>(v); }

template <typename Map, typename T>
std::string name_of(const Map& names, T value) {
    for (const auto& [name, v] : names)
        if (v == value) return name;
    return "";
}

// A size where 0 means "auto".
V size_or_auto(uint64_t bytes) { return bytes ? V(bytes) : V(std::string("auto")); }
uint64_t size_unless_auto(const V& v) { return is_word(v) ? 0 : std::get<uint64_t>(v); }

std::string number_text(double d) {
    std::ostringstream s;
    s << d;
    return s.str();
}

std::string bound_text(const Setting& s, double d) {
    return s.kind == Kind::Integer ? std::to_string(int64_t(d)) : number_text(d);
}

// Keep config/swamp-bpf.conf and docs/config.md in step.
std::vector<Setting> make_settings() {
    auto bounds = [](auto b) { return Bounds<double>{double(b.lo), double(b.hi)}; };
    return {
        {.flag = "--mem-budget", .table = "memory", .key = "budget", .kind = Kind::Size, .value_name = "SIZE",
         .help = "The build may use this much memory in all; auto: what MemAvailable and the build's cgroup allow",
         .word = "auto",
         .set = [](O& o, const V& v) {
             uint64_t b = size_unless_auto(v);
             o.memory.budget = b ? std::optional(b) : std::nullopt;
         },
         .get = [](const O& o) { return size_or_auto(o.memory.budget.value_or(0)); }},
        {.flag = "--reserve", .table = "memory", .key = "reserve", .kind = Kind::Size, .value_name = "SIZE",
         .help = "Keep this much of MemAvailable free",
         .set = [](O& o, const V& v) { o.memory.reserve = std::get<uint64_t>(v); },
         .get = [](const O& o) -> V { return o.memory.reserve; }},

        {.flag = "--action", .table = "policy", .key = "action", .kind = Kind::Choice, .value_name = "HOW",
         .help = "How jobs wait: signal (SIGSTOP/SIGCONT), freeze (a cgroup v2 per job) or dry-run (decide, touch "
                 "nothing)",
         .choices = action_choices(),
         .set = [](O& o, const V& v) { o.action = action_names().at(std::get<std::string>(v)); },
         .get = [](const O& o) -> V { return name_of(action_names(), o.action); }},
        {.flag = "--max-running", .table = "policy", .key = "max-running", .kind = Kind::Integer,
         .value_name = "N", .help = "Run at most N jobs at once (0: no cap); -1 and -2 are short for 1 and 2",
         .bounds = bounds(kMaxRunningBounds), .zero_too = true, .unit = " jobs",
         .set = [](O& o, const V& v) { o.caps.max_running = int(std::get<int64_t>(v)); },
         .get = [](const O& o) -> V { return int64_t(o.caps.max_running); }},
        {.flag = "--cpus", .table = "policy", .key = "cpus", .kind = Kind::Number, .value_name = "N",
         .help = "CPUs the build can use: while its running jobs keep them busy, new jobs without a prediction "
                 "wait; auto: the CPUs swamp-bpf may run on; 0: CPU is no limit",
         .bounds = kCpusBounds,
         .unit = " CPUs (0: CPU is no limit)", .word = "auto",
         .set = [](O& o, const V& v) { o.policy.cpus = is_word(v) ? -1 : std::get<double>(v); },
         .get = [](const O& o) -> V {  // -1: the CPUs swamp-bpf may run on
             if (o.policy.cpus < 0) return std::string("auto");
             return o.policy.cpus;
         }},
        {.flag = "--horizon", .table = "policy", .key = "horizon", .kind = Kind::Number, .value_name = "S",
         .help = "Seconds of growth to project when deciding to stop", .bounds = kHorizonBounds,
         .unit = " seconds",
         .set = [](O& o, const V& v) { o.policy.horizon_s = std::get<double>(v); },
         .get = [](const O& o) -> V { return o.policy.horizon_s; }},
        {.flag = "--low-mark", .table = "policy", .key = "low-mark", .kind = Kind::Size, .value_name = "SIZE",
         .help = "Stop jobs when projected headroom falls below this; auto: max(64M, 4% of the limit)",
         .word = "auto",
         .set = [](O& o, const V& v) { o.policy.low_watermark = size_unless_auto(v); },
         .get = [](const O& o) { return size_or_auto(o.policy.low_watermark); }},
        {.flag = "--high-mark", .table = "policy", .key = "high-mark", .kind = Kind::Size, .value_name = "SIZE",
         .help = "Resume jobs when headroom stays above this; auto: 3 x the low mark", .word = "auto",
         .set = [](O& o, const V& v) { o.policy.high_watermark = size_unless_auto(v); },
         .get = [](const O& o) { return size_or_auto(o.policy.high_watermark); }},
        {.flag = "--page-out", .table = "policy", .key = "page-out", .kind = Kind::Choice, .value_name = "WHEN",
         .help = "Push a stopped job's memory out to swap once it has stayed stopped --page-out-delay seconds: "
                 "off (measured, it does not pay yet: see docs/benchmarks.md), auto (when swap or zswap exists) "
                 "or on",
         .choices = page_out_choices(),
         .set = [](O& o, const V& v) { o.page_out.mode = page_out_names().at(std::get<std::string>(v)); },
         .get = [](const O& o) -> V { return name_of(page_out_names(), o.page_out.mode); }},
        {.flag = "--page-out-delay", .table = "policy", .key = "page-out-delay", .kind = Kind::Number,
         .value_name = "S", .help = "Seconds a job must stay stopped before it is paged out",
         .bounds = kPageOutDelayBounds, .unit = " seconds",
         .set = [](O& o, const V& v) { o.page_out.delay_s = std::get<double>(v); },
         .get = [](const O& o) -> V { return o.page_out.delay_s; }},

        {.flag = "--drivers", .table = "tree", .key = "drivers", .kind = Kind::List, .value_name = "LIST",
         .help = "Comma-separated build drivers, never stopped", .item_problem = driver_name_problem,
         .set = [](O& o, const V& v) { o.tree.drivers = std::get<std::vector<std::string>>(v); },
         .get = [](const O& o) -> V { return o.tree.drivers; }},
        {.flag = "--protect", .table = "tree", .key = "protect", .kind = Kind::List, .value_name = "LIST",
         .help = "Comma-separated process names never stopped, besides init, kernel threads, swamp-bpf's own "
                 "ancestors and a login shell; \"\" for none",
         .set = [](O& o, const V& v) { o.protect = std::get<std::vector<std::string>>(v); },
         .get = [](const O& o) -> V { return o.protect; }},

        {.flag = "--users", .table = "service", .key = "users", .flag_of = FlagOf::Service, .kind = Kind::List,
         .value_name = "LIST",
         .help = "Comma-separated users (names or uids, e.g. portage) whose every build is managed",
         .default_note = "none",
         .set = [](O& o, const V& v) { o.service_users = std::get<std::vector<std::string>>(v); },
         .get = [](const O& o) -> V { return o.service_users; }},
        {.flag = "--roots", .table = "service", .key = "roots", .flag_of = FlagOf::Service, .kind = Kind::List,
         .value_name = "LIST",
         .help = "Comma-separated program names (comm) that start a managed build wherever they are run, by any "
                 "user; \"\" for none",
         .item_problem = driver_name_problem,
         .set = [](O& o, const V& v) { o.service_roots = std::get<std::vector<std::string>>(v); },
         .get = [](const O& o) -> V { return o.service_roots; }},

        {.flag = "--rss-step", .table = "sensing", .key = "rss-step", .flag_of = FlagOf::Sensing,
         .kind = Kind::Size, .value_name = "SIZE", .help = "Report a process's RSS each time it moves by this much",
         .set = [](O& o, const V& v) { o.sensing.rss_step = std::get<uint64_t>(v); },
         .get = [](const O& o) -> V { return o.sensing.rss_step; }},
        {.flag = "--fault-interval", .table = "sensing", .key = "fault-interval", .flag_of = FlagOf::Sensing,
         .kind = Kind::Integer, .value_name = "MS",
         .help = "Milliseconds between fault-rate samples of a faulting process",
         .bounds = bounds(kFaultIntervalBounds), .unit = " ms",
         .set = [](O& o, const V& v) { o.sensing.fault_interval_ms = uint32_t(std::get<int64_t>(v)); },
         .get = [](const O& o) -> V { return int64_t(o.sensing.fault_interval_ms); }},
        {.flag = "--ringbuf-size", .table = "sensing", .key = "ringbuf-size", .flag_of = FlagOf::Sensing,
         .kind = Kind::Size, .value_name = "SIZE", .help = "Size of the BPF ring buffer, rounded up to a power of 2",
         .set = [](O& o, const V& v) { o.sensing.ringbuf_size = std::get<uint64_t>(v); },
         .get = [](const O& o) -> V { return o.sensing.ringbuf_size; }},
        {.flag = "--max-tasks", .table = "sensing", .key = "max-tasks", .flag_of = FlagOf::Sensing,
         .kind = Kind::Integer, .value_name = "N", .help = "Most processes tracked at once",
         .bounds = bounds(kMaxTasksBounds),
         .set = [](O& o, const V& v) { o.sensing.max_tasks = uint32_t(std::get<int64_t>(v)); },
         .get = [](const O& o) -> V { return int64_t(o.sensing.max_tasks); }},
        {.flag = "--btf", .table = "sensing", .key = "btf", .flag_of = FlagOf::Sensing, .kind = Kind::Path,
         .value_name = "FILE", .help = "BTF of the running kernel, for kernels built without BTF",
         .must_exist = true,
         .set = [](O& o, const V& v) { o.sensing.btf_file = std::get<std::string>(v); },
         .get = [](const O& o) -> V { return o.sensing.btf_file; }},
        {.flag = "--attach", .table = "sensing", .key = "attach", .flag_of = FlagOf::Sensing, .kind = Kind::Choice,
         .value_name = "KIND",
         .help = "BPF variant: auto (probe the kernel), tp_btf, raw_tp (CO-RE, need BTF) or tracepoint (needs no "
                 "BTF)",
         .choices = attach_choices(),
         .set = [](O& o, const V& v) {
             const auto& name = std::get<std::string>(v);
             o.sensing.attach = name == "auto" ? std::nullopt : std::optional(attach_names().at(name));
         },
         .get = [](const O& o) -> V {
             return o.sensing.attach ? name_of(attach_names(), *o.sensing.attach) : std::string("auto");
         }},

        {.flag = "--history-db", .table = "history", .key = "db", .kind = Kind::Path, .value_name = "PATH",
         .help = "Record every job's peak memory in this SQLite database, and predict jobs from it; \"\": no "
                 "history",
         .set = [](O& o, const V& v) {
             const auto& path = std::get<std::string>(v);
             o.no_history = path.empty();
             if (!path.empty()) o.history_db = path;
         },
         .get = [](const O& o) -> V { return o.no_history ? std::string() : o.history_db; }},
        // After --history-db, so that it wins when both are given.
        {.flag = "--no-history", .kind = Kind::Flag,
         .help = "Neither predict jobs from the history nor record them",
         .set = [](O& o, const V& v) { o.no_history = std::get<bool>(v); },
         .get = [](const O& o) -> V { return o.no_history; }},

        {.flag = "--socket", .table = "control", .key = "socket", .kind = Kind::Path, .value_name = "PATH",
         .help = std::string("Listen on this unix socket for `swamp-bpf ctl` (status, limit, pause, resume, "
                             "drain) by root and by the build's owner; `ctl` looks at ") +
                 kDefaultSocket + " unless given --socket",
         .set = [](O& o, const V& v) { o.socket_path = std::get<std::string>(v); },
         .get = [](const O& o) -> V { return o.socket_path; }},
        {.flag = "--status-file", .table = "control", .key = "status-file", .kind = Kind::Path,
         .value_name = "PATH",
         .help = "Keep the state in this file as key=value lines (state=, jobs_running=, headroom_bytes=, ...), "
                 "rewritten at most once a second and at exit; mode 0640, the build owner's",
         .set = [](O& o, const V& v) { o.status_file = std::get<std::string>(v); },
         .get = [](const O& o) -> V { return o.status_file; }},
        {.flag = "--status-group", .table = "control", .key = "status-group", .kind = Kind::Text,
         .value_name = "GROUP",
         .help = "The --status-file's group, which may read it: a monitoring group, e.g. nagios",
         .default_note = "root",
         .set = [](O& o, const V& v) { o.status_group = std::get<std::string>(v); },
         .get = [](const O& o) -> V { return o.status_group; }},
        {.flag = "--metrics-file", .table = "control", .key = "metrics-file", .kind = Kind::Path,
         .value_name = "PATH",
         .help = "Keep Prometheus metrics in this file (textfile-collector format), rewritten like --status-file",
         .set = [](O& o, const V& v) { o.metrics_file = std::get<std::string>(v); },
         .get = [](const O& o) -> V { return o.metrics_file; }},
        {.flag = "--on-event", .table = "control", .key = "on-event", .kind = Kind::Text, .value_name = "CMD",
         .help = "Run this shell command on each stop, hold, resume, memory pressure, OOM kill and build end, "
                 "without waiting for it, as the build's owner, with the details in SWAMP_* variables "
                 "(rate-limited; see docs/control.md)",
         .set = [](O& o, const V& v) { o.on_event = std::get<std::string>(v); },
         .get = [](const O& o) -> V { return o.on_event; }},

        {.flag = "-q,--quiet", .table = "output", .key = "quiet", .kind = Kind::Flag,
         .help = "No start line and no summary",
         .set = [](O& o, const V& v) { o.quiet = std::get<bool>(v); },
         .get = [](const O& o) -> V { return o.quiet; }},
        // The command line's --trace and --trace-json (cli/options) replace this mode.
        {.table = "output", .key = "trace", .other_flags = "--trace, --trace-json", .kind = Kind::Choice,
         .choices = {"off", "text", "json"},
         .set = [](O& o, const V& v) {
             const auto& mode = std::get<std::string>(v);
             o.trace = mode == "text";
             o.trace_json = mode == "json";
         },
         .get = [](const O& o) -> V { return std::string(o.trace_json ? "json" : o.trace ? "text" : "off"); }},
        {.flag = "--trace-output", .table = "output", .key = "trace-output", .kind = Kind::Path,
         .value_name = "FILE", .help = "Write --trace/--trace-json to FILE instead of stderr",
         .set = [](O& o, const V& v) { o.trace_output = std::get<std::string>(v); },
         .get = [](const O& o) -> V { return o.trace_output; }},
    };
}

}  // namespace

const std::vector<Setting>& settings() {
    static const std::vector<Setting> table = make_settings();
    return table;
}

std::string Setting::long_flag() const { return flag.substr(flag.rfind(',') + 1); }

std::string value_text(const SettingValue& v) {
    return std::visit(
        [](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::string>) return x;
            else if constexpr (std::is_same_v<T, uint64_t>) return exact_size(x);
            else if constexpr (std::is_same_v<T, double>) return number_text(x);
            else if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
            else if constexpr (std::is_same_v<T, int64_t>) return std::to_string(x);
            else return joined(x);
        },
        v);
}

std::string help_with_default(const Setting& s) {
    if (s.kind == Kind::Flag) return s.help;  // off unless given
    std::string value = s.default_note.empty() ? value_text(s.get(ControllerOptions{})) : s.default_note;
    return value.empty() ? s.help : s.help + " (default " + value + ")";
}

std::string out_of_bounds(const Setting& s, double v) {
    if ((v >= s.bounds.lo && v <= s.bounds.hi) || (s.zero_too && v == 0)) return "";  // false for nan
    return std::string("give ") + (s.zero_too ? "0 (none) or " : "") + bound_text(s, s.bounds.lo) + " to " +
           bound_text(s, s.bounds.hi) + s.unit;
}

}  // namespace swamp
