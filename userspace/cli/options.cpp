#include "cli/options.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <sstream>

#include "config/config.hpp"
#include "control/ctl_protocol.hpp"
#include "events.h"
#include "util/error.hpp"
#include "util/size.hpp"

#ifndef SWAMP_VERSION
#define SWAMP_VERSION "unknown"
#endif

namespace swamp {

namespace {

// A CLI11 option that takes a size ("16M") into a uint64_t byte count.
CLI::Option* add_size(CLI::App* app, const std::string& name, uint64_t& target, const std::string& help) {
    return app
        ->add_option_function<std::string>(
            name,
            [&target, name](const std::string& text) {
                std::string error;
                auto v = parse_size(text, error);
                if (!v) throw CLI::ValidationError(name, error);
                target = *v;
            },
            help)
        ->type_name("SIZE");
}

std::vector<std::string> comma_list(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream ss(text);
    for (std::string name; std::getline(ss, name, ',');)
        if (!name.empty()) out.push_back(name);
    return out;
}

void add_attach(CLI::App* app, std::optional<AttachKind>& target) {
    app->add_option_function<std::string>(
           "--attach",
           [&target](const std::string& v) {
               target = v == "auto" ? std::nullopt : std::optional(attach_names().at(v));
           },
           "BPF variant: auto (probe the kernel), tp_btf, raw_tp (CO-RE, need BTF) or tracepoint (needs no BTF)")
        ->check(CLI::IsMember(attach_choices()))
        ->type_name("KIND");
}

void add_sensing(CLI::App* app, SensingOptions& s) {
    const SensingOptions d;
    add_size(app, "--rss-step", s.rss_step,
             "Report a process's RSS each time it moves by this much (default " + exact_size(d.rss_step) + ")");
    app->add_option("--fault-interval", s.fault_interval_ms,
                    "Milliseconds between fault-rate samples of a faulting process (default " +
                        std::to_string(d.fault_interval_ms) + ")")
        ->check(CLI::Range(kFaultIntervalBounds.lo, kFaultIntervalBounds.hi))
        ->type_name("MS");
    add_size(app, "--ringbuf-size", s.ringbuf_size, "Size of the BPF ring buffer, rounded up to a power of 2 (default " + exact_size(d.ringbuf_size) + ")");
    app->add_option("--max-tasks", s.max_tasks, "Most processes tracked at once (default " + std::to_string(d.max_tasks) + ")")
        ->check(CLI::Range(kMaxTasksBounds.lo, kMaxTasksBounds.hi))
        ->type_name("N");
    app->add_option("--btf", s.btf_file, "BTF of the running kernel, for kernels built without BTF")
        ->check(CLI::ExistingFile)
        ->type_name("FILE");
    add_attach(app, s.attach);
    app->add_flag("-v,--verbose", s.verbose, "Show libbpf's log");
}

// ---- history (docs/history.md, "History") ----

std::string absolute(const std::string& path) { return std::filesystem::absolute(path).lexically_normal().string(); }

void add_history_flags(CLI::App& app, ControllerOptions& c) {
    // Defined before --no-history, whose callback runs after it: --no-history wins when both are given.
    app.add_option_function<std::string>(
           "--history-db",
           [&c](const std::string& path) {
               c.history_db = absolute(path);
               c.no_history = false;
           },
           std::string("Record every job's peak memory in this SQLite database, and predict jobs from it (default ") +
               kDefaultHistoryDb + ")")
        ->type_name("PATH");
    app.add_flag("--no-history", c.no_history, "Neither predict jobs from the history nor record them");
}

// `history list|export|forget`; returns the subcommand, whose own subcommands say the action.
CLI::App* add_history_command(CLI::App& app, HistoryOptions& h) {
    auto* history = app.add_subcommand(
        "history", "Show, export or forget the recorded peak memory of past jobs, which predicts their next runs");
    history->require_subcommand(1);
    history->add_option_function<std::string>(
               "--db", [&h](const std::string& path) { h.db = absolute(path); },
               std::string("The history database (default ") + kDefaultHistoryDb + ")")
        ->type_name("PATH");
    history
        ->add_subcommand("list",
                         "One row per command signature: runs, last peak, predicted peak, last duration and tool, "
                         "biggest prediction first")
        ->fallthrough();
    history->add_subcommand("export", "Print every recorded run as a JSON line")->fallthrough();
    auto* forget = history->add_subcommand("forget", "Delete the runs whose signature contains PATTERN (or --all)");
    forget->fallthrough();
    forget->add_option("pattern", h.pattern, "A substring of the signatures to forget (see history list)")
        ->type_name("PATTERN");
    forget->add_flag("--all", h.all, "Forget every run");
    return history;
}

// Sets r.history.action from the subcommand given; throws on a bad forget.
void check_history_command(CLI::App* history, HistoryOptions& h) {
    using Action = HistoryOptions::Action;
    if (*history->get_subcommand("list")) h.action = Action::List;
    if (*history->get_subcommand("export")) h.action = Action::Export;
    if (*history->get_subcommand("forget")) {
        h.action = Action::Forget;
        if (h.all == !h.pattern.empty())
            throw CLI::ValidationError("history forget: give either a PATTERN (a part of the signatures) or --all");
    }
}

// ---- live control (docs/control.md, "Live control") ----

void add_control_flags(CLI::App& app, ControllerOptions& c) {
    app.add_option_function<std::string>(
           "--socket", [&c](const std::string& path) { c.socket_path = absolute(path); },
           std::string("Listen on this unix socket for `swamp-bpf ctl` (status, limit, pause, resume, drain) by root "
                       "and by the build's owner; `ctl` looks at ") + kDefaultSocket + " unless given --socket")
        ->type_name("PATH");
    app.add_option_function<std::string>(
           "--status-file", [&c](const std::string& path) { c.status_file = absolute(path); },
           "Keep the state in this file as key=value lines (state=, jobs_running=, headroom_bytes=, ...), "
           "rewritten at most once a second and at exit; mode 0640, the build owner's")
        ->type_name("PATH");
    app.add_option("--status-group", c.status_group,
                   "The --status-file's group, which may read it (a monitoring group, e.g. nagios; default root)")
        ->type_name("GROUP");
    app.add_option_function<std::string>(
           "--metrics-file", [&c](const std::string& path) { c.metrics_file = absolute(path); },
           "Keep Prometheus metrics in this file (textfile-collector format), rewritten like --status-file")
        ->type_name("PATH");
    app.add_option("--on-event", c.on_event,
                   "Run this shell command on each stop, hold, resume, memory pressure, OOM kill and build end, "
                   "without waiting for it, as the build's owner, with the details in SWAMP_* variables "
                   "(rate-limited; see docs/control.md)")
        ->type_name("CMD");
}

// `ctl status|limit|pause|resume|drain`; returns the subcommand.
CLI::App* add_ctl_command(CLI::App& app, CtlOptions& c, bool& json, int& limit, uint64_t& job) {
    auto* ctl = app.add_subcommand(
        "ctl", "Control a running swamp-bpf started with --socket: show its jobs, cap or pause them (root, or the build's owner for their own build)");
    ctl->require_subcommand(1);
    ctl->add_option("--socket", c.socket, std::string("The controller's socket (default ") + kDefaultSocket + ")")
        ->type_name("PATH");
    auto* status = ctl->add_subcommand(
        "status", "Show the mode, memory, caps, totals and one row per job (state, RSS, peak, why it waits)");
    status->fallthrough();
    status->add_flag("--json", json, "Print one JSON object");
    auto* lim = ctl->add_subcommand("limit", "Run at most N jobs at once (0: no cap), like -1/-2 but live");
    lim->fallthrough();
    lim->add_option("N", limit, "The most running jobs; 0 removes the cap")
        ->required()
        ->check(CLI::Range(0, kMaxRunningBounds.hi))
        ->type_name("N");
    ctl->add_subcommand("pause", "Stop every job until resume")->fallthrough();
    ctl->add_subcommand("resume", "End pause and drain (the cap stays)")->fallthrough();
    ctl->add_subcommand("drain", "Let running jobs finish; start and resume nothing until resume")->fallthrough();
    auto* run = ctl->add_subcommand(
        "run", "Run job JOB now, through a pause, a cap or low memory; it is never stopped again until it ends");
    run->fallthrough();
    run->add_option("JOB", job, "The job's number (the JOB column of ctl status)")
        ->required()
        ->check(CLI::PositiveNumber)
        ->type_name("JOB");
    return ctl;
}

// `top`: a live view of a running controller, with keys for ctl's requests.
CLI::App* add_top_command(CLI::App& app, TopOptions& t) {
    auto* top = app.add_subcommand(
        "top", "Watch a running swamp-bpf live (memory, every job's state, RSS, peak, growth, CPU and why it waits) "
               "and steer it with keys: pause, resume, limit, drain, run this job now");
    top->add_option("--socket", t.socket, std::string("The controller's socket (default ") + kDefaultSocket + ")")
        ->type_name("PATH");
    top->add_option("--interval", t.interval_s, "Seconds between refreshes (default 0.25)")
        ->check(CLI::Range(kTopIntervalBounds.lo, kTopIntervalBounds.hi))
        ->type_name("S");
    return top;
}

// A comma list of build names: --drivers, --roots.
std::vector<std::string> driver_names(const std::string& flag, const std::string& text) {
    std::vector<std::string> names;
    for (const std::string& name : comma_list(text)) {
        if (auto problem = driver_name_problem(name); !problem.empty()) throw CLI::ValidationError(flag, problem);
        names.push_back(name);
    }
    return names;
}

constexpr const char* kAsHelp =
    "Run the command as this user (a name or uid); default: the user who ran sudo, pkexec or doas (SUDO_UID, "
    "PKEXEC_UID, DOAS_USER), else root; --as root keeps it root";

// --as names who runs a command we launch: nothing else has one.
void require_command_for_as(const std::string& as, const std::vector<std::string>& command) {
    if (!as.empty() && command.empty())
        throw CLI::ValidationError("--as", "is for a command swamp-bpf launches (-- CMD): a running build keeps its user");
}

// The controller's flags, on the top level or on `service` (which finds its
// builds itself: no --root-pid, --user or command there).
void add_controller(CLI::App& app, ControllerOptions& c, uint64_t& budget, bool service) {
    // Applied as soon as it is parsed; the other flags take effect after the
    // whole command line is parsed, so a flag given there overrides the file.
    app.add_option_function<std::string>(
           "--config", [&c](const std::string& file) { apply_config_file(file, c); },
           "Read settings from this TOML file first (see check-config); flags given here override it")
        ->type_name("FILE")
        ->trigger_on_parse();
    if (service) {
        app.add_option_function<std::string>(
               "--users", [&c](const std::string& v) { c.service_users = comma_list(v); },
               "Comma-separated users (names or uids, e.g. portage) whose every build is managed (default none)")
            ->type_name("LIST");
        app.add_option_function<std::string>(
               "--roots", [&c](const std::string& v) { c.service_roots = driver_names("--roots", v); },
               "Comma-separated program names (comm) that start a managed build wherever they are run, by any user "
               "(default " + joined(kDefaultRoots) + "; \"\" for none)")
            ->type_name("LIST");
    } else {
        app.add_option("--root-pid", c.root_pid, "Manage this running build (e.g. make's pid) and all its descendants")
            ->type_name("PID");
        app.add_option("--user", c.user,
                       "Manage every build of this user (a name or uid, e.g. portage) until stopped with Ctrl-C")
            ->type_name("NAME");
        app.add_option("--as", c.as_user, kAsHelp)->type_name("USER");
    }
    app.add_option_function<std::string>(
           "--action",
           [&c](const std::string& v) { c.action = action_names().at(v); },
           "How jobs wait: signal (SIGSTOP/SIGCONT, default), freeze (a cgroup v2 per job) or dry-run (decide, touch nothing)")
        ->check(CLI::IsMember(action_choices()))
        ->type_name("HOW");
    add_size(&app, "--mem-budget", budget,
             "The build may use this much memory in all (default: what MemAvailable and the build's cgroup allow)");
    add_size(&app, "--reserve", c.memory.reserve, "Keep this much of MemAvailable free (default 128M)");
    app.add_option("--max-running", c.caps.max_running, "Run at most N jobs at once; -1 and -2 are short for 1 and 2")
        ->check(CLI::Range(kMaxRunningBounds.lo, kMaxRunningBounds.hi))
        ->type_name("N");
    app.add_flag("--pause", c.caps.pause, "Start with every job paused");
    app.add_flag("--drain", c.caps.drain, "Finish the jobs that run; hold every new one");
    app.add_option_function<std::string>(
           "--drivers",
           [&c](const std::string& v) { c.tree.drivers = driver_names("--drivers", v); },
           "Comma-separated build drivers, never stopped (default " + joined(kDefaultDrivers) + ")")
        ->type_name("LIST");
    app.add_option_function<std::string>(
           "--protect", [&c](const std::string& v) { c.protect = comma_list(v); },
           "Comma-separated process names never stopped, besides init, kernel threads, swamp-bpf's own ancestors "
           "and a login shell (default " + joined(kDefaultProtect) + "; \"\" for none)")
        ->type_name("LIST");
    app.add_option("--cpus", c.policy.cpus,
                   "CPUs the build can use: while its running jobs keep them busy, new jobs without a prediction "
                   "wait (default: the CPUs swamp-bpf may run on; 0: CPU is no limit)")
        ->check(CLI::Range(kCpusBounds.lo, kCpusBounds.hi))
        ->type_name("N");
    app.add_option("--horizon", c.policy.horizon_s, "Seconds of growth to project when deciding to stop (default 4)")
        ->check(CLI::Range(kHorizonBounds.lo, kHorizonBounds.hi))
        ->type_name("S");
    add_size(&app, "--low-mark", c.policy.low_watermark,
             "Stop jobs when projected headroom falls below this (default max(64M, 4% of the limit))");
    add_size(&app, "--high-mark", c.policy.high_watermark,
             "Resume jobs when headroom stays above this (default 3 x the low mark)");
    // page-out of stopped jobs (actuator/page_out.hpp)
    app.add_option_function<std::string>(
           "--page-out", [&c](const std::string& v) { c.page_out.mode = page_out_names().at(v); },
           "Push a stopped job's memory out to swap once it has stayed stopped --page-out-delay seconds: "
           "off (default; measured, it does not pay yet: see docs/benchmarks.md), auto (when swap or zswap exists) or on")
        ->check(CLI::IsMember(page_out_choices()))
        ->type_name("WHEN");
    app.add_option("--page-out-delay", c.page_out.delay_s,
                   "Seconds a job must stay stopped before it is paged out (default 1)")
        ->check(CLI::Range(kPageOutDelayBounds.lo, kPageOutDelayBounds.hi))
        ->type_name("S");
    app.add_flag("--trace", c.trace, "Print kernel events and decisions live, as text (to stderr)");
    app.add_flag("--trace-json", c.trace_json, "Print kernel events and decisions live, as JSON lines (to stderr)");
    app.add_option("--trace-output", c.trace_output, "Write --trace/--trace-json to FILE instead of stderr")
        ->type_name("FILE");
    app.add_option("--record", c.record_file, "Save events, decisions and memory readings to FILE")->type_name("FILE");
    app.add_flag("-q,--quiet", c.quiet, "No start line and no summary");
    add_sensing(&app, c.sensing);
    add_history_flags(app, c);
    add_control_flags(app, c);
    if (!service)
        app.add_option("command", c.command, "The build to launch and manage (after --); we exit with its status")
            ->type_name("CMD");
}

// After parsing: what the controller's flags imply, on `app` (the top level or `service`).
void finish_controller(CLI::App& app, ControllerOptions& c, uint64_t budget) {
    if (budget) c.memory.budget = budget;
    // A trace flag on the command line replaces the file's trace mode.
    auto* trace_text = app.get_option("--trace");
    auto* trace_json = app.get_option("--trace-json");
    if (trace_text->count() || trace_json->count()) {
        c.trace = trace_text->count() > 0;
        c.trace_json = trace_json->count() > 0;
    }
    const PolicyConfig& p = c.policy;
    if (p.low_watermark && p.high_watermark && p.high_watermark <= p.low_watermark)
        throw CLI::ValidationError("--high-mark", "must be above the low mark (--low-mark or the config file's)");
}

// Draining The Swamp's -1 and -2, before "--".
std::vector<std::string> expand_shorthands(int argc, const char* const* argv) {
    std::vector<std::string> args;
    bool after_dashes = false;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "--") after_dashes = true;
        if (!after_dashes && (a == "-1" || a == "-2")) a = "--max-running=" + a.substr(1);
        args.push_back(a);
    }
    std::reverse(args.begin(), args.end());  // CLI11 takes them reversed
    return args;
}

}  // namespace

ParsedCli parse_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
    ParsedCli r;
    CLI::App app{"swamp-bpf " SWAMP_VERSION
                 ": keeps memory-hungry parallel builds from running out of memory.\n"
                 "eBPF follows every process of a build; jobs wait, stopped, and resume as memory frees up.\n\n"
                 "  swamp-bpf [OPTIONS] -- make -j4        launch a build and manage it\n"
                 "  swamp-bpf [OPTIONS] --root-pid PID     manage a running build\n"
                 "  swamp-bpf [OPTIONS] --user portage     manage every build of a user\n"
                 "  swamp-bpf service [OPTIONS]            run as a service: find and manage every build\n"
                 "  swamp-bpf --config FILE [OPTIONS] ...  take settings from FILE; flags override it\n"
                 "  swamp-bpf ctl status|limit N|pause|resume|drain|run JOB   control a running swamp-bpf (--socket)\n"
                 "  swamp-bpf top                          watch and steer a running swamp-bpf live\n"
                 "  swamp-bpf SUBCOMMAND --help            service, trace, probe, replay, check-config, recover, history, report, ctl, top"};
    app.name("swamp-bpf");
    app.set_version_flag("--version", "swamp-bpf " SWAMP_VERSION);
    app.require_subcommand(0, 1);
    uint64_t budget = 0;  // 0: not given (parse_size rejects 0)
    add_controller(app, r.control, budget, false);
    app.footer("Exit codes: 0 ok, 1 failure, 2 usage, 3 permission, 4 bad pid, 5 missing kernel feature,\n"
               "6 bad BTF file, 7 bad config file, 8 cgroup, 9 history database unusable, 127 command not runnable;\n"
               "in launch mode, the command's status.");

    auto* trace = app.add_subcommand("trace", "Print a live dump of a build tree's kernel events");
    trace->add_option("--root-pid", r.trace.root_pid, "Trace this running process and all its descendants")
        ->type_name("PID");
    trace->add_option("--as", r.trace.as_user, kAsHelp)->type_name("USER");
    trace->add_flag("--json", r.trace.json, "Write JSON lines (schema in docs/trace.md) instead of text");
    trace->add_flag("--threads", r.trace.threads, "Also show thread creations");
    trace->add_option("--record", r.trace.record_file, "Also save the trace to FILE for `swamp-bpf replay`")
        ->type_name("FILE");
    trace->add_option("-o,--output", r.trace.output_file,
                      "Write the trace to FILE instead of stdout (the command keeps stdout)")
        ->type_name("FILE");
    add_sensing(trace, r.trace.sensing);
    trace->add_option("command", r.trace.command, "Command to launch and trace (after --); we exit with its status")
        ->type_name("CMD");

    auto* probe = app.add_subcommand("probe", "Print the kernel features found, the attach variant that will be used, "
                                              "and whether swamp-bpf can run here (the host's pid namespace)");
    probe->add_option("--btf", r.probe.btf_file, "BTF of the running kernel, for kernels built without BTF")
        ->check(CLI::ExistingFile)
        ->type_name("FILE");
    add_attach(probe, r.probe.attach);
    probe->add_flag("--json", r.probe.json, "Print the result as one JSON object");

    auto* replay = app.add_subcommand("replay", "Print a trace saved with --record");
    replay->add_option("file", r.replay.file, "The recorded trace")->required()->check(CLI::ExistingFile);
    replay->add_flag("--json", r.replay.json, "Write JSON lines instead of text");
    replay->add_flag("--threads", r.replay.threads, "Also show thread creations");
    replay->add_flag("--policy", r.replay.policy,
                     "Run the recorded build through this policy and print the decisions it would make beside the "
                     "ones that were made (a recording of the controller's --record)");
    replay->add_option("--horizon", r.replay.horizon_s, "With --policy: seconds of growth to project (default: as recorded)")
        ->check(CLI::Range(kHorizonBounds.lo, kHorizonBounds.hi))
        ->type_name("S");
    add_size(replay, "--low-mark", r.replay.low_mark, "With --policy: the low mark (default: as recorded)");
    add_size(replay, "--high-mark", r.replay.high_mark, "With --policy: the high mark (default: as recorded)");
    replay->add_option("--max-running", r.replay.max_running, "With --policy: run at most N jobs at once (default: as recorded)")
        ->check(CLI::Range(kMaxRunningBounds.lo, kMaxRunningBounds.hi))
        ->type_name("N");
    replay->add_option("--cpus", r.replay.cpus, "With --policy: CPUs the build can use (default: as recorded)")
        ->check(CLI::Range(kCpusBounds.lo, kCpusBounds.hi))
        ->type_name("N");

    auto* recover = app.add_subcommand(
        "recover", "Resume and thaw what a killed swamp-bpf left stopped (every managing run does this first)");

    auto* check = app.add_subcommand(
        "check-config",
        "Check a config file for --config without root or BPF: print \"FILE: ok\" and exit 0, or print its first "
        "error as FILE:LINE:COL and exit 7");
    check->add_option("file", r.check_config.file, "The TOML config file (layout: config/swamp-bpf.conf)")
        ->required()
        ->type_name("FILE");
    check->add_flag("--show", r.check_config.show,
                    "Also print the effective settings (the file over the defaults) as a config file");

    auto* service = app.add_subcommand(
        "service", "Run as a system service: find every build on its own, by --users and by --roots names (make, "
                   "ninja, emerge, distccd …), and manage each until stopped with SIGTERM; takes the controller's "
                   "options and --config, listens for ctl on " + std::string(kDefaultSocket) + " and writes " +
                   kDefaultStatusFile + " unless --socket and --status-file say otherwise");
    add_controller(*service, r.control, budget, true);

    auto* history = add_history_command(app, r.history);
    auto* report = app.add_subcommand(
        "report", "Draw a recorded build as an SVG timeline: the build's total RSS against its memory budget, its "
                  "jobs running and waiting against the CPUs, and one row per job on one memory scale with its RSS, "
                  "the spans it was stopped or held and why, and SIGKILLs (no root needed)");
    report->add_option("trace", r.report.file, "A trace in JSON lines: --record FILE, or --trace-json / trace --json output")
        ->required()
        ->check(CLI::ExistingFile)
        ->type_name("TRACE");
    report->add_option("-o,--output", r.report.output, "Write the SVG to FILE (\"-\": stdout)")
        ->required()
        ->type_name("FILE");
    report->add_option("--top", r.report.top,
                       "Draw rows for the N jobs with the highest peak RSS, and one row for the rest (default 100; "
                       "0: a row for every job)")
        ->check(CLI::NonNegativeNumber)
        ->type_name("N");
    add_size(report, "--min-peak", r.report.min_peak,
             "Draw no row for a job whose peak RSS is below SIZE; the row for the rest counts it");
    report->add_option("--cpus", r.report.cpus,
                       "The CPUs the build had, drawn against its running jobs (the trace does not record them; "
                       "default: none drawn)")
        ->check(CLI::Range(kCpusBounds.lo, kCpusBounds.hi))
        ->type_name("N");

    // hidden, for tests: the watchdog's state files in DIR instead of /run/swamp-bpf
    for (CLI::App* a : {&app, recover, service})
        a->add_option_function<std::string>("--state-dir", [&r](const std::string& dir) { r.state_dir = absolute(dir); })
            ->group("");
    bool ctl_json = false;
    int ctl_limit = 0;
    uint64_t ctl_job = 0;
    auto* ctl = add_ctl_command(app, r.ctl, ctl_json, ctl_limit, ctl_job);
    auto* top = add_top_command(app, r.top);

    try {
        app.parse(expand_shorthands(argc, argv));
        if (app.get_option("--config")->count() && app.get_subcommands().size())
            throw CLI::ValidationError("--config", "is for managing a build; to check a file use check-config FILE, "
                                                   "and give service its --config after the word service");
        if (*service) {
            if (!r.control.command.empty() || r.control.root_pid || !r.control.user.empty())
                throw CLI::ValidationError("service finds its builds itself: give it no command, --root-pid or --user "
                                           "(use --users and --roots)");
            finish_controller(*service, r.control, budget);
            // a service is always reachable and always says how it is (docs/service.md, "Service mode")
            if (r.control.socket_path.empty()) r.control.socket_path = kDefaultSocket;
            if (r.control.status_file.empty()) r.control.status_file = kDefaultStatusFile;
            if (r.control.service_users.empty() && r.control.service_roots.empty())
                throw CLI::ValidationError("service: nothing to watch: give --users or --roots (or [service] in the config)");
            r.control.service = true;
            r.command = Command::Service;
        } else if (*trace) {
            if (r.trace.root_pid.has_value() == !r.trace.command.empty())
                throw CLI::ValidationError("trace: give either --root-pid PID or -- CMD [ARGS...]");
            if (r.trace.root_pid && *r.trace.root_pid <= 0)
                throw CLI::ValidationError("--root-pid", "must be a process id greater than 0");
            require_command_for_as(r.trace.as_user, r.trace.command);
            r.command = Command::Trace;
        } else if (*probe) {
            r.command = Command::Probe;
        } else if (*replay) {
            r.command = Command::Replay;
        } else if (*recover) {
            r.command = Command::Recover;
        } else if (*check) {
            r.command = Command::CheckConfig;
        } else if (*history) {
            check_history_command(history, r.history);
            r.command = Command::History;
        } else if (*report) {
            r.command = Command::Report;
        } else if (*top) {
            r.command = Command::Top;
        } else if (*ctl) {
            CtlRequest req;
            if (*ctl->get_subcommand("status")) req = {CtlRequest::Kind::Status, ctl_json, 0};
            if (*ctl->get_subcommand("limit")) req = {CtlRequest::Kind::Limit, false, ctl_limit};
            if (*ctl->get_subcommand("pause")) req.kind = CtlRequest::Kind::Pause;
            if (*ctl->get_subcommand("resume")) req.kind = CtlRequest::Kind::Resume;
            if (*ctl->get_subcommand("drain")) req.kind = CtlRequest::Kind::Drain;
            if (*ctl->get_subcommand("run")) {
                req.kind = CtlRequest::Kind::Run;
                req.job = ctl_job;
            }
            r.ctl.request = request_line(req);
            r.command = Command::Ctl;
        } else {
            int modes = r.control.root_pid.has_value() + !r.control.command.empty() + !r.control.user.empty();
            if (modes != 1)
                throw CLI::ValidationError("give one of --root-pid PID, --user NAME or -- CMD [ARGS...] (or a subcommand; see --help)");
            if (r.control.root_pid && *r.control.root_pid <= 0)
                throw CLI::ValidationError("--root-pid", "must be a process id greater than 0");
            require_command_for_as(r.control.as_user, r.control.command);
            finish_controller(app, r.control, budget);
            r.command = Command::Control;
        }
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e, out, err);
        r.exit_now = code == 0 ? 0 : int(ExitCode::Usage);
    } catch (const UserError& e) {  // from --config
        err << "swamp-bpf: " << e.what() << '\n';
        r.exit_now = int(e.code());
    }
    return r;
}

}  // namespace swamp
