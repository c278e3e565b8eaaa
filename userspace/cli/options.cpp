#include "cli/options.hpp"

#include <CLI/CLI.hpp>
#include <sstream>

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

const std::map<std::string, AttachKind> kAttachNames{{"tp_btf", AttachKind::TpBtf}, {"raw_tp", AttachKind::RawTp}};

void add_attach(CLI::App* app, std::optional<AttachKind>& target) {
    app->add_option_function<std::string>(
           "--attach",
           [&target](const std::string& v) {
               if (v != "auto") target = kAttachNames.at(v);
           },
           "Attach variant: auto (probe the kernel), tp_btf or raw_tp")
        ->check(CLI::IsMember({"auto", "tp_btf", "raw_tp"}))
        ->type_name("KIND");
}

void add_sensing(CLI::App* app, SensingOptions& s) {
    add_size(app, "--rss-step", s.rss_step, "Report a process's RSS each time it moves by this much (default 16M)");
    app->add_option("--fault-interval", s.fault_interval_ms,
                    "Milliseconds between fault-rate samples of a faulting process (default 250)")
        ->check(CLI::Range(10, 60000))
        ->type_name("MS");
    add_size(app, "--ringbuf-size", s.ringbuf_size, "Size of the BPF ring buffer, rounded up to a power of 2 (default 4M)");
    app->add_option("--max-tasks", s.max_tasks, "Most processes tracked at once (default 16384)")
        ->check(CLI::Range(64, 4194304))
        ->type_name("N");
    app->add_option("--btf", s.btf_file, "BTF of the running kernel, for kernels built without BTF")
        ->check(CLI::ExistingFile)
        ->type_name("FILE");
    add_attach(app, s.attach);
    app->add_flag("-v,--verbose", s.verbose, "Show libbpf's log");
}

}  // namespace

ParsedCli parse_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
    ParsedCli r;
    CLI::App app{"swamp-bpf " SWAMP_VERSION
                 ": keeps memory-hungry parallel builds from running out of memory.\n"
                 "eBPF follows every process of a build; jobs are paused and resumed so the build never OOMs."};
    app.name("swamp-bpf");
    app.set_version_flag("--version", "swamp-bpf " SWAMP_VERSION);
    app.require_subcommand(1, 1);
    app.footer("Exit codes: 0 ok, 1 failure, 2 usage, 3 permission, 4 bad pid, 5 missing kernel feature,\n"
               "6 bad BTF file, 7 config, 8 cgroup, 127 command not runnable; in launch mode, the command's status.");

    auto* trace = app.add_subcommand("trace", "Print a live dump of a build tree's kernel events");
    trace->add_option("--root-pid", r.trace.root_pid, "Trace this running process and all its descendants")
        ->type_name("PID");
    trace->add_flag("--json", r.trace.json, "Write JSON lines (schema in the README) instead of text");
    trace->add_flag("--threads", r.trace.threads, "Also show thread creations");
    trace->add_option("--record", r.trace.record_file, "Also save the trace to FILE for `swamp-bpf replay`")
        ->type_name("FILE");
    add_sensing(trace, r.trace.sensing);
    trace->add_option("command", r.trace.command, "Command to launch and trace (after --); we exit with its status")
        ->type_name("CMD");

    auto* probe = app.add_subcommand("probe", "Print the kernel features found and the attach variant that will be used");
    probe->add_option("--btf", r.probe.btf_file, "BTF of the running kernel, for kernels built without BTF")
        ->check(CLI::ExistingFile)
        ->type_name("FILE");
    add_attach(probe, r.probe.attach);
    probe->add_flag("--json", r.probe.json, "Print the result as one JSON object");

    auto* replay = app.add_subcommand("replay", "Print a trace saved with --record");
    replay->add_option("file", r.replay.file, "The recorded trace")->required()->check(CLI::ExistingFile);
    replay->add_flag("--json", r.replay.json, "Write JSON lines instead of text");
    replay->add_flag("--threads", r.replay.threads, "Also show thread creations");

    try {
        app.parse(argc, argv);
        if (*trace) {
            if (r.trace.root_pid.has_value() == !r.trace.command.empty())
                throw CLI::ValidationError("trace: give either --root-pid PID or -- CMD [ARGS...]");
            if (r.trace.root_pid && *r.trace.root_pid <= 0)
                throw CLI::ValidationError("--root-pid", "must be a process id greater than 0");
            r.command = Command::Trace;
        } else if (*probe) {
            r.command = Command::Probe;
        } else if (*replay) {
            r.command = Command::Replay;
        }
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e, out, err);
        r.exit_now = code == 0 ? 0 : int(ExitCode::Usage);
    }
    return r;
}

}  // namespace swamp
