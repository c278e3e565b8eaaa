#include "cli/options.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <filesystem>
#include <sstream>

#include "config/config.hpp"
#include "config/setting_table.hpp"
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

std::string absolute(const std::string& path) { return std::filesystem::absolute(path).lexically_normal().string(); }

// A number from the command line, whole or not; nullopt unless all of `text` is one.
template <typename T>
std::optional<T> number_of(const std::string& text) {
    T v{};
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return v;
}

// Checks a number (or the setting's word) against the setting's bounds, as the config file does.
CLI::Validator within_bounds(const Setting& s) {
    bool whole = s.kind == SettingKind::Integer;
    auto bound = [&](double d) { return whole ? std::to_string(int64_t(d)) : value_text(SettingValue(d)); };
    std::string what = (s.word.empty() ? "" : s.word + " or ") + (s.zero_too ? "0 or " : "") +
                       (whole ? "INT" : "FLOAT") + " in [" + bound(s.bounds.lo) + " - " + bound(s.bounds.hi) + "]";
    return CLI::Validator(
        [&s, whole](std::string& text) -> std::string {
            if (!s.word.empty() && text == s.word) return "";
            std::optional<double> v;
            if (whole) {
                if (auto i = number_of<int64_t>(text)) v = double(*i);
            } else {
                v = number_of<double>(text);
            }
            if (!v) return text + " is not " + (whole ? "a whole number" : "a number");
            std::string give = out_of_bounds(s, *v);
            return give.empty() ? "" : text + " is out of range; " + give;
        },
        what);
}

// The value of `s` in the command line's `text`, which its validator passed.
SettingValue value_of(const Setting& s, const std::string& text) {
    if (!s.word.empty() && text == s.word) return text;
    switch (s.kind) {
        case SettingKind::Size: {
            std::string error;
            auto v = parse_size(text, error);
            if (!v) throw CLI::ValidationError(s.long_flag(), error);
            return *v;
        }
        case SettingKind::Integer: return *number_of<int64_t>(text);
        case SettingKind::Number: return *number_of<double>(text);
        case SettingKind::List: {
            std::vector<std::string> items = comma_list(text);
            for (const auto& item : items)
                if (std::string problem = s.item_problem ? s.item_problem(item) : ""; !problem.empty())
                    throw CLI::ValidationError(s.long_flag(), problem);
            return items;
        }
        case SettingKind::Path: return text.empty() ? text : absolute(text);
        case SettingKind::Flag: return true;
        default: return text;  // Choice (checked by IsMember), Text
    }
}

// The flag of one row of the settings' table (config/setting_table.hpp), which sets `c`.
void add_setting(CLI::App* app, const Setting& s, ControllerOptions& c) {
    std::string help = help_with_default(s);
    if (s.kind == SettingKind::Flag) {
        app->add_flag_callback(s.flag, [&s, &c] { s.set(c, true); }, help);
        return;
    }
    auto* option =
        app->add_option_function<std::string>(s.flag, [&s, &c](const std::string& text) { s.set(c, value_of(s, text)); },
                                              help)
            ->type_name(s.value_name);
    if (s.kind == SettingKind::Choice) option->check(CLI::IsMember(s.choices));
    if (s.kind == SettingKind::Integer || s.kind == SettingKind::Number) option->check(within_bounds(s));
    if (s.must_exist) option->check(CLI::ExistingFile);
}

// Every row whose flag `app` takes.
void add_settings(CLI::App* app, ControllerOptions& c, std::initializer_list<FlagOf> of) {
    for (const Setting& s : settings())
        if (s.has_flag() && std::find(of.begin(), of.end(), s.flag_of) != of.end()) add_setting(app, s, c);
}

// The row of `flag`.
const Setting& setting(std::string_view flag) {
    for (const Setting& s : settings())
        if (s.has_flag() && s.long_flag() == flag) return s;
    throw std::logic_error("no setting for " + std::string(flag));
}

// ---- history (docs/history.md, "History") ----

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
    top->add_option("--interval", t.interval_s, "Seconds between refreshes (default " + value_text(SettingValue(TopOptions{}.interval_s)) + ")")
        ->check(CLI::Range(kTopIntervalBounds.lo, kTopIntervalBounds.hi))
        ->type_name("S");
    return top;
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
void add_controller(CLI::App& app, ControllerOptions& c, bool service) {
    // Applied as soon as it is parsed; the other flags take effect after the
    // whole command line is parsed, so a flag given there overrides the file.
    app.add_option_function<std::string>(
           "--config", [&c](const std::string& file) { apply_config_file(file, c); },
           "Read settings from this TOML file first (see check-config); flags given here override it")
        ->type_name("FILE")
        ->trigger_on_parse();
    if (!service) {
        app.add_option("--root-pid", c.root_pid, "Manage this running build (e.g. make's pid) and all its descendants")
            ->type_name("PID");
        app.add_option("--user", c.user,
                       "Manage every build of this user (a name or uid, e.g. portage) until stopped with Ctrl-C")
            ->type_name("NAME");
        app.add_option("--as", c.as_user, kAsHelp)->type_name("USER");
    }
    if (service)
        add_settings(&app, c, {FlagOf::Controller, FlagOf::Service, FlagOf::Sensing});
    else
        add_settings(&app, c, {FlagOf::Controller, FlagOf::Sensing});
    // For this run only: not settings of the config file.
    app.add_flag("--pause", c.caps.pause, "Start with every job paused");
    app.add_flag("--drain", c.caps.drain, "Finish the jobs that run; hold every new one");
    app.add_flag("--trace", c.trace, "Print kernel events and decisions live, as text (to stderr)");
    app.add_flag("--trace-json", c.trace_json, "Print kernel events and decisions live, as JSON lines (to stderr)");
    app.add_option("--record", c.record_file, "Save events, decisions and memory readings to FILE")->type_name("FILE");
    app.add_flag("-v,--verbose", c.sensing.verbose, "Show libbpf's log");
    if (!service)
        app.add_option("command", c.command, "The build to launch and manage (after --); we exit with its status")
            ->type_name("CMD");
}

// After parsing: what the controller's flags imply, on `app` (the top level or `service`).
void finish_controller(CLI::App& app, ControllerOptions& c) {
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
    add_controller(app, r.control, false);
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
    ControllerOptions trace_settings;  // its sensing flags, the controller's own
    add_settings(trace, trace_settings, {FlagOf::Sensing});
    trace->add_flag("-v,--verbose", trace_settings.sensing.verbose, "Show libbpf's log");
    trace->add_option("command", r.trace.command, "Command to launch and trace (after --); we exit with its status")
        ->type_name("CMD");

    auto* probe = app.add_subcommand("probe", "Print the kernel features found, the attach variant that will be used, "
                                              "and whether swamp-bpf can run here (the host's pid namespace)");
    ControllerOptions probe_settings;  // --btf and --attach, as the controller takes them
    add_setting(probe, setting("--btf"), probe_settings);
    add_setting(probe, setting("--attach"), probe_settings);
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
    add_controller(*service, r.control, true);

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
                       "Draw rows for the N jobs with the highest peak RSS, and one row for the rest; 0: a row for "
                       "every job (default " + std::to_string(ReportOptions{}.top) + ")")
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
        r.trace.sensing = trace_settings.sensing;
        r.probe.btf_file = probe_settings.sensing.btf_file;
        r.probe.attach = probe_settings.sensing.attach;
        if (app.get_option("--config")->count() && app.get_subcommands().size())
            throw CLI::ValidationError("--config", "is for managing a build; to check a file use check-config FILE, "
                                                   "and give service its --config after the word service");
        if (*service) {
            if (!r.control.command.empty() || r.control.root_pid || !r.control.user.empty())
                throw CLI::ValidationError("service finds its builds itself: give it no command, --root-pid or --user "
                                           "(use --users and --roots)");
            finish_controller(*service, r.control);
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
            finish_controller(app, r.control);
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
