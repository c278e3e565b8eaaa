// `swamp-bpf trace`: load the BPF side, follow one tree, print its events.
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ostream>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "control/sensing.hpp"
#include "sys/clock.hpp"
#include "source/bpf_source.hpp"
#include "sys/launch.hpp"
#include "sys/limits.hpp"
#include "sys/pid_namespace.hpp"
#include "sys/proc.hpp"
#include "sys/safe_file.hpp"
#include "sys/signals.hpp"
#include "trace/printer.hpp"
#include "util/error.hpp"

namespace swamp {

namespace {

// Tracks root and its existing descendants. A child forked by a not-yet-tracked
// process while we walk is caught by the next walk; stop when one finds nothing new.
void seed_tree(BpfSource& src, TracePrinter& printer, const ProcStat& root) {
    if (!src.track(root.pid, root.ppid)) throw UserError(ExitCode::Failure, "the BPF task map is full");
    printer.name(root.pid, root.comm);
    for (int pass = 0; pass < 3; pass++) {
        bool found_new = false;
        for (const ProcStat& p : scan_descendants(root.pid)) {
            if (src.tracked(p.pid)) continue;
            found_new = true;
            src.track(p.pid, p.ppid);
            printer.name(p.pid, p.comm);
        }
        if (!found_new) break;
    }
}

}  // namespace


int run_trace(const TraceOptions& o) {
    require_host_pid_namespace();
    std::optional<ProcStat> root;
    if (o.root_pid) root = validate_root_pid(*o.root_pid);
    require_bpf_privileges();
    std::optional<RunAs> run_as = o.command.empty() ? std::nullopt : run_as_for_launch(o.as_user);
    // as the controller does; the trace holds no fd per process, so a shortfall costs nothing here
    raise_fd_limit(fds_needed(o.sensing.max_tasks));
    AttachPlan plan = plan_or_throw(probe_kernel(o.sensing.btf_file), o.sensing);

    std::unique_ptr<std::ostream> output, record;
    if (!o.output_file.empty()) output = open_output("the trace", o.output_file);
    std::ostream& out = output ? *output : std::cout;
    if (!o.record_file.empty()) record = open_output("the recording", o.record_file);

    BpfSource src(bpf_options(o.sensing), plan);
    SignalFd signals;
    uint64_t start_ns = monotonic_ns();
    std::ios::sync_with_stdio(false);
    TracePrinter printer({o.json, o.threads}, out, record.get(), start_ns);

    std::unique_ptr<LaunchedCommand> cmd;
    if (o.command.empty()) {
        seed_tree(src, printer, *root);
    } else {
        cmd = std::make_unique<LaunchedCommand>(o.command, 0, run_as);
        src.track(cmd->pid(), getpid());
        printer.name(cmd->pid(), o.command[0].substr(0, 15));
        root = ProcStat{};
        root->pid = cmd->pid();
        root->ppid = getpid();
        root->comm = o.command[0];
    }
    if (record) *record << record_start_line(start_ns, root->pid) << '\n';
    if (cmd) cmd->start();

    int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_watch(ep, src.fd(), EPOLLIN);
    epoll_watch(ep, signals.fd(), EPOLLIN);
    int root_fd = cmd ? -1 : open_pidfd(root->pid);
    epoll_watch(ep, root_fd, EPOLLIN);

    auto sink = [&](std::span<const std::byte> raw) { printer.on_raw(raw); };
    std::optional<int> status;  // the launched command's wait status
    bool root_gone = false, interrupted = false;
    int interrupts = 0;
    while (!status && !root_gone && interrupts < 2) {
        epoll_event evs[4];
        // lazily-sent events (forks, samples) wake nobody: pick them up every 200 ms
        int linger = src.poll_timeout_ms();
        int n = epoll_wait(ep, evs, 4, linger >= 0 && linger < 200 ? linger : 200);
        src.consume(sink);
        printer.on_drops(src.dropped());
        out.flush();
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == root_fd) root_gone = true;
            if (evs[i].data.fd != signals.fd()) continue;
            while (int sig = signals.read()) {
                if (sig == SIGCHLD) {
                    int st;
                    if (cmd && waitpid(cmd->pid(), &st, WNOHANG) == cmd->pid()) status = st;
                } else {
                    interrupted = true;
                    interrupts++;
                    if (cmd) kill(cmd->pid(), sig);  // let the command end; a second signal stops waiting
                    else interrupts = 2;
                }
            }
        }
    }
    src.consume(sink);  // the last exits
    out.flush();
    if (root_fd >= 0) close(root_fd);
    close(ep);

    BpfStats st = src.stats();
    printer.on_drops(st.dropped);
    out.flush();
    if (st.map_full)
        std::cerr << "swamp-bpf: " << st.map_full << " processes were not tracked: raise --max-tasks\n";
    if (interrupted && !status) std::cerr << "swamp-bpf: interrupted\n";
    if (cmd) return status ? exit_code_of(*status) : 130;
    return 0;
}

}  // namespace swamp
