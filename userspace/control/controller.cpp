#include "control/controller.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include "actuator/leftovers.hpp"
#include "actuator/vetting.hpp"
#include "actuator/watchdog.hpp"
#include "control/sensing.hpp"
#include "sys/clock.hpp"
#include "control/event_hook.hpp"
#include "control/found_builds.hpp"
#include "control/job_history.hpp"
#include "control/live_control.hpp"
#include "control/progress_watch.hpp"
#include "engine/engine.hpp"
#include "engine/recording.hpp"
#include "util/json_line.hpp"
#include "source/bpf_source.hpp"
#include "source/decode.hpp"
#include "sys/cgroupfs.hpp"
#include "sys/hook_runner.hpp"
#include "sys/launch.hpp"
#include "sys/users.hpp"
#include "sys/limits.hpp"
#include "sys/memory_reader.hpp"
#include "sys/pid_namespace.hpp"
#include "sys/proc.hpp"
#include "sys/safe_file.hpp"
#include "sys/self.hpp"
#include "sys/signals.hpp"
#include "sys/systemd.hpp"
#include "trace/printer.hpp"
#include "trace/text.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/printable.hpp"

namespace swamp {

namespace {

uid_t resolve_user(const std::string& name, const char* flag) {
    if (auto u = lookup_user(name)) return u->uid;
    char* end;
    long uid = strtol(name.c_str(), &end, 10);
    if (!name.empty() && !*end && uid >= 0) return uid_t(uid);
    throw UserError(ExitCode::Usage,
                    std::string(flag) + ": no user \"" + name + "\" (give a name from /etc/passwd or a uid)");
}

// Service mode: a root name is a driver wherever it runs, so that its children form jobs.
TreeConfig tree_config(const ControllerOptions& o) {
    TreeConfig t = o.tree;
    if (o.service)
        for (const std::string& name : o.service_roots)
            if (std::find(t.drivers.begin(), t.drivers.end(), name) == t.drivers.end()) t.drivers.push_back(name);
    return t;
}

// --cpus left at its default (-1): the CPUs we may run on, which the build inherits.
PolicyConfig policy_config(const ControllerOptions& o) {
    PolicyConfig c = o.policy;
    if (c.cpus < 0) c.cpus = usable_cpus();
    c.rss_step = o.sensing.rss_step;
    return c;
}

constexpr int kHookGraceMs = 5000;          // at exit, --on-event's hooks may finish this long
constexpr int kControllerNice = -10;        // see raise_priority()

struct Summary {
    uint64_t jobs = 0, resyncs = 0;
    ActionCounts actions;
    uint64_t unheld = 0;  // processes not held (out of file descriptors)
    uint64_t peak_rss = 0;
};

// The CPU time of every running job's processes, by job.
std::map<uint64_t, ProcsCpu> read_running_cpu(const Tree& tree) {
    std::map<uint64_t, ProcsCpu> out;
    for (const auto& [id, j] : tree.jobs())
        if (j.state == JobState::Running) out[id] = read_procs_cpu(j.pids);
    return out;
}

class Controller {
public:
    explicit Controller(const ControllerOptions& o)
        : o_(o), engine_(tree_config(o), policy_config(o), o.caps), tree_(engine_.tree()), policy_(engine_.policy()) {}
    int run();

private:
    void open_trace();
    void refuse_unsafe_files();
    void watch_for_builds();
    void start_tree();
    void on_event(const Event& e, std::span<const std::byte> raw);
    // `clean_exit`: the event was an exit without a signal (a job that ended
    // with it ran to its end).
    void handle(const TreeDelta& d, uint64_t seen_ns, bool clean_exit = false);
    void open_history();
    void release_protected(uint64_t job, uint64_t now);
    void note_unheld(uint64_t job, const std::string& what, const std::string& reason, uint64_t now);
    void note_build_start(uint32_t pid, uint64_t now);
    void learn_package(uint32_t pid, uint64_t now);
    void seed(const ProcStat& p, uint64_t now, uint64_t seen_ns);
    bool managed_elsewhere(uint32_t pid, bool say);
    bool joins_from_elsewhere(const Event& e);
    void note_build_end(const ExitEvent& e);
    void resync(uint64_t now, bool after_drops = true);
    bool track(const ProcStat& p, uint64_t now);
    void note_untracked(uint32_t pid, uint64_t now);
    void decide(uint64_t now, bool from_timer);
    bool carry_out(const Action& a, const Job& j, uint64_t now, const MemoryView& mem);
    void record(const nlohmann::json& line);  // into --record's file only
    void arm_timer(bool on);
    void release_all(uint64_t now);
    void suspend(int sig, bool from_terminal);
    void trace_page_outs();
    void print_summary(int exit_code);
    std::string what_we_manage() const;
    uid_t build_owner() const;
    // --on-event: tells the hook, as the owner of `about` (a job's or the build's
    // root), else as the build's owner, else as root.
    void tell(HookEvent e, pid_t about);
    void watch_events(uint64_t now, bool last = false);  // pressure and OOM kills, for the hook; `last`: at exit
    StatusSnapshot status();  // for ctl status and the status/metrics files

    const ControllerOptions& o_;
    Engine engine_;
    Tree& tree_;      // engine_'s
    Policy& policy_;  // engine_'s
    KernelFeatures kernel_;  // probed once at start
    std::unique_ptr<BpfSource> src_;
    std::unique_ptr<MemoryReader> memory_;
    std::unique_ptr<Watchdog> watchdog_;  // before actuator_: outlives it
    std::unique_ptr<Actuator> actuator_;
    std::unique_ptr<std::ostream> trace_file_, record_file_;
    std::unique_ptr<TracePrinter> printer_;
    std::unique_ptr<JobHistory> history_;  // none with --no-history
    std::unique_ptr<LiveControl> live_;    // --socket, --status-file, --metrics-file
    std::unique_ptr<HookRunner> hooks_;    // --on-event
    HookLimiter hook_limit_;
    long build_owner_ = -1;         // the uid the build root had when last seen
    bool pressure_ = false;         // told "pressure"; until headroom is back above the resume mark
    uint64_t oom_seen_ = 0, last_oom_check_ns_ = 0;
    ServiceManager manager_;               // systemd's $NOTIFY_SOCKET and watchdog, taken at once
    ProgressWatch progress_{clock_ticks_per_second()};
    pid_t root_ = 0;
    bool launched_ = false;  // launch mode: the watchdog runs the command
    std::optional<RunAs> run_as_;  // launch mode: who the command runs as (nullopt: as we do, root)
    uid_t owner_ = 0;              // whose build this is (they may use ctl too); 0: root or several users
    bool watchdog_lost_ = false;
    // --user and service mode: builds found by their user or their driver's name
    bool watching_ = false;
    std::vector<uid_t> uids_;
    std::vector<std::string> roots_;
    FoundBuilds builds_;  // --user and service mode: each build's own figures, for the log
    std::unique_ptr<TimerFd> timer_;  // made in run(), after the watchdog's fork
    bool timer_on_ = false;
    uint64_t start_ns_ = 0, last_memory_ns_ = 0;
    double start_unix_s_ = 0;  // start_ns_ in unix time, for the metrics
    uint64_t oom_kills_at_start_ = 0;
    uint64_t drops_seen_ = 0, last_drop_note_ns_ = 0;
    // the task map was full: processes alive and not tracked (resynced from /proc once a
    // second until none is left), how many distinct ones so far, when we last said so
    std::set<uint32_t> untracked_, untracked_before_;  // (the latter: during a resync)
    uint64_t untracked_total_ = 0, last_untracked_note_ns_ = 0, last_repair_ns_ = 0;
    uint64_t newest_event_ns_ = 0;  // kernel time of the newest event since the last decision
    uint64_t load_peak_rss_ = 0;    // our peak RSS while libbpf loaded the programs
    bool unheld_logged_ = false;    // the first process we could not hold was logged
    MemoryView last_mem_;
    Summary sum_;
};

void Controller::open_trace() {
    std::ostream* out = &std::cerr;
    if (!o_.trace_output.empty()) {
        trace_file_ = open_output("the trace", o_.trace_output);
        out = trace_file_.get();
    }
    if (!o_.record_file.empty()) record_file_ = open_output("the recording", o_.record_file);
    if (o_.trace || o_.trace_json || record_file_) {
        static std::ofstream null_stream;  // recording without a live trace
        std::ostream& live = (o_.trace || o_.trace_json) ? *out : null_stream;
        printer_ = std::make_unique<TracePrinter>(PrinterOptions{o_.trace_json, false}, live, record_file_.get(), start_ns_);
    }
}

// Files root would write where another user has a say: refused before anything starts.
// (The status and metrics files' directory may appear later: the socket's, made below.)
void Controller::refuse_unsafe_files() {
    if (!o_.socket_path.empty())
        if (std::string problem = ensure_private_dir_of(o_.socket_path, 0755);
            !problem.empty())
            throw UserError(ExitCode::Usage, "--socket " + o_.socket_path + ": refused: " + problem);
    if (!o_.trace_output.empty()) require_safe_output("--trace-output", o_.trace_output);
    if (!o_.record_file.empty()) require_safe_output("--record", o_.record_file);
    if (!o_.status_file.empty()) require_safe_output("--status-file", o_.status_file, true);
    if (!o_.metrics_file.empty()) require_safe_output("--metrics-file", o_.metrics_file, true);
    if (!o_.no_history) require_safe_output("--history-db", o_.history_db, true, false);
    if (std::string problem = prepare_state_dir(); !problem.empty())
        throw UserError(ExitCode::Usage, "refusing the state directory: " + problem);
}

// What --user and service mode watch for; throws on an unknown user.
void Controller::watch_for_builds() {
    if (o_.service) {
        for (const std::string& u : o_.service_users) uids_.push_back(resolve_user(u, "service --users"));
        roots_ = o_.service_roots;
    } else if (!o_.user.empty()) {
        uids_.push_back(resolve_user(o_.user, "--user"));
    }
    watching_ = !uids_.empty() || !roots_.empty();
    if (watching_ && o_.action == ActionKind::Freeze)
        throw UserError(ExitCode::Usage, std::string("--action freeze needs --root-pid or a command; use --action signal ") +
                                             (o_.service ? "in service mode" : "with --user"));
}

void Controller::start_tree() {
    if (watching_) {
        // what runs already: under a driver it forms jobs, the rest is left alone
        for (const ProcStat& p : scan_watched(uids_, roots_)) {
            if (!tree_.process(p.ppid) && managed_elsewhere(p.pid, true)) continue;
            if (!track(p, start_ns_)) continue;
            seed(p, start_ns_, monotonic_ns());
            note_build_start(p.pid, start_ns_);
        }
    } else if (o_.command.empty()) {
        ProcStat root = validate_root_pid(*o_.root_pid);
        root_ = root.pid;
        tree_.add_root(root.pid, root.ppid, root.comm, start_ns_);
        src_->track(root.pid, root.ppid);
        if (printer_) printer_->name(root.pid, root.comm);
        // one walk of /proc adopts what already runs; a second catches forks that raced it
        for (int pass = 0; pass < 2; pass++)
            for (const ProcStat& p : scan_descendants(root.pid)) {
                if (tree_.process(p.pid) || !track(p, start_ns_)) continue;
                seed(p, start_ns_, monotonic_ns());
            }
    } else {
        root_ = watchdog_->command_pid();
        tree_.add_root(root_, watchdog_->pid(), o_.command[0], start_ns_);
        src_->track(root_, watchdog_->pid());
        if (printer_) printer_->name(root_, o_.command[0].substr(0, 15));
    }
}

void Controller::handle(const TreeDelta& d, uint64_t seen_ns, bool clean_exit) {
    for (uint64_t id : d.dissolved_jobs) actuator_->on_job_end(id);
    if (history_) {
        history_->forget(d.dissolved_jobs);
        history_->on_ended(d.ended, seen_ns, !clean_exit);
    }
    for (auto [job, pid] : d.joined) {
        const Job* j = tree_.job(job);
        Vetted v = actuator_->on_join(job, pid, j && j->state != JobState::Running, seen_ns);
        if (v.verdict == Verdict::Unheld) note_unheld(job, "pid " + std::to_string(pid), v.reason, seen_ns);
        if (v.verdict == Verdict::Protected && j && !j->is_protected) {
            tree_.set_protected(job);
            record(protect_json(seen_ns, job));
            log(Level::Notice) << "pid " << pid << " (" << printable(v.comm) << ") in job " << job << " is " << v.reason
                      << ": the job is never stopped\n";
            if (j->state != JobState::Running) release_protected(job, seen_ns);
        }
    }
    for (uint32_t pid : d.exited) actuator_->on_exit(pid);
    for (uint64_t id : d.ended_jobs) actuator_->on_job_end(id);
    if (live_) live_->forget(d.ended_jobs), live_->forget(d.dissolved_jobs);
    sum_.jobs += d.started_jobs.size();  // not a fork that never execs (distccd's idle workers)
    builds_.on_delta(tree_, d);
}

// Out of file descriptors: a process of the job could not be held. Logged
// once, counted in the summary; the job runs on and is never stopped.
void Controller::note_unheld(uint64_t job, const std::string& what, const std::string& reason, uint64_t now) {
    sum_.unheld++;
    const Job* j = tree_.job(job);
    if (!unheld_logged_)
        log(Level::Warning) << "cannot hold " << what << " of job " << job << ": " << reason
                            << ": the job runs on unmanaged, never stopped; raise the open-file limit (LimitNOFILE=, "
                               "ulimit -n) or lower --max-tasks. Further ones are counted in the summary\n";
    unheld_logged_ = true;
    if (!j || j->is_protected) return;
    tree_.set_protected(job);
    record(protect_json(now, job));
    if (j->state != JobState::Running) release_protected(job, now);
}

// A job stopped before it ran a protected name (a shell that then ran it):
// it runs again at once, and stays running.
void Controller::release_protected(uint64_t job, uint64_t now) {
    std::vector<pid_t> pids;
    for (uint32_t pid : tree_.job_pids(job)) pids.push_back(pid_t(pid));
    std::string error;
    if (!actuator_->resume(job, pids, error)) {
        log(Level::Error) << "cannot resume protected job " << job << ": " << error << '\n';
        return;
    }
    tree_.set_state(job, JobState::Running, now);
    sum_.actions.resumes++;
}

void Controller::on_event(const Event& event, std::span<const std::byte> raw) {
    bool known = tree_.process(event_pid(event)) != nullptr;
    if (watching_ && !known && joins_from_elsewhere(event)) return;
    if (printer_) printer_->on_event(event, raw);
    if (untracked(event)) {  // the kernel will report nothing more of it: never in the tree
        note_untracked(event_pid(event), event_ts(event));
        return;
    }
    newest_event_ns_ = std::max(newest_event_ns_, event_ts(event));
    TreeDelta d = engine_.apply(event);
    if (const auto* exec = std::get_if<ExecEvent>(&event)) {
        if (!known) note_build_start(exec->pid, exec->ts_ns);
        const Process* p = tree_.process(exec->pid);
        if (history_) {  // before the policy judges the job; recorded for replay
            const Job* j = p ? tree_.job(p->job) : nullptr;
            int runs = j ? j->predicted_runs : 0;
            uint64_t peak = j ? j->predicted_peak : 0;
            history_->on_exec(tree_, *exec);
            p = tree_.process(exec->pid);
            if (p && (j = tree_.job(p->job)) && (j->predicted_runs != runs || j->predicted_peak != peak))
                record(prediction_json(exec->ts_ns, p->job, *j));
        }
        // vetted again under its new name, unless it just joined (and was vetted) with this exec
        bool joined = std::any_of(d.joined.begin(), d.joined.end(), [&](auto jp) { return jp.second == exec->pid; });
        if (p && p->job && !joined) d.joined.emplace_back(p->job, exec->pid);
        if (p && p->driver) learn_package(exec->pid, exec->ts_ns);
    }
    const auto* exit = std::get_if<ExitEvent>(&event);
    if (exit) note_build_end(*exit);
    handle(d, event_ts(event), exit && exit->signal() == 0);
}

// A driver's emerge package, from its environment (CATEGORY, PF), read once as it execs or is
// found: the jobs under it are named by it. A process without them keeps its parent's.
void Controller::learn_package(uint32_t pid, uint64_t now) {
    auto env = read_environ(pid_t(pid), {"CATEGORY", "PF"}, 64 * 1024);
    std::string package = package_name(env["CATEGORY"], env["PF"]);
    const Process* p = tree_.process(pid);
    if (package.empty() || !p || p->package == package) return;
    tree_.set_package(pid, package);
    if (printer_) printer_->on_package(now, pid, package);
}

// A process found by a /proc walk, into the tree; a driver's package is read at once.
void Controller::seed(const ProcStat& p, uint64_t now, uint64_t seen_ns) {
    handle(tree_.seed(p.pid, p.ppid, p.comm, p.comm, now), seen_ns);
    if (const Process* q = tree_.process(p.pid); q && q->driver) learn_package(p.pid, now);
}

// --user and service mode: true if `pid` runs under another swamp-bpf (`swamp-bpf -- make`
// beside the service), which manages its build: we leave it alone, or the two would stop
// and resume the same jobs. `say`: log that once for the build.
bool Controller::managed_elsewhere(uint32_t pid, bool say) {
    pid_t other = ancestor_named(pid_t(pid), {"swamp-bpf", "swamp-watchdog"}, getpid());
    if (other && say && !o_.quiet)
        log(Level::Info) << "leaving pid " << pid << " and its build to the swamp-bpf that runs it (pid " << other
                         << ")\n";
    return other != 0;
}

// An exec or fork the kernel side adopted (a new root, or a fork that raced our untrack of
// one) whose build another swamp-bpf manages: no longer followed.
bool Controller::joins_from_elsewhere(const Event& e) {
    uint32_t pid = 0;
    if (const auto* x = std::get_if<ExecEvent>(&e)) pid = x->pid;
    if (const auto* f = std::get_if<ForkEvent>(&e); f && !f->thread && !tree_.process(f->ppid)) pid = f->pid;
    if (!pid || !managed_elsewhere(pid, std::holds_alternative<ExecEvent>(e))) return false;
    src_->untrack(pid);
    return true;
}

// --user and service mode: one log line when a build is found, one when it ends.
void Controller::note_build_start(uint32_t pid, uint64_t now) {
    if (!watching_) return;
    if (std::string line = builds_.on_entered(tree_, pid, now); !line.empty() && !o_.quiet)
        log(Level::Info) << line << '\n';
}

void Controller::note_build_end(const ExitEvent& e) {
    std::string line = builds_.on_exit(e);
    if (line.empty()) return;
    if (!o_.quiet) log(Level::Info) << line << '\n';
    HookEvent end;
    end.event = "build-end";
    end.pid = e.pid;
    end.reason = line;
    end.headroom = last_mem_.headroom;
    tell(end, -1);
}

void Controller::tell(HookEvent e, pid_t about) {
    if (!hooks_ || !hook_limit_.admit(e.event, monotonic_ns())) return;
    if (root_ > 0 && !watching_)  // kept for when the root is gone (build-end)
        if (long now_uid = real_uid(root_); now_uid >= 0) build_owner_ = now_uid;
    long uid = about > 0 ? real_uid(about) : -1;
    if (uid < 0) uid = build_owner_;
    if (uid < 0 && !o_.user.empty() && !uids_.empty()) uid = long(uids_.front());
    e.managing = what_we_manage();
    e.socket = o_.socket_path;
    e.oom_kills = oom_seen_ - oom_kills_at_start_;
    hooks_->run(hook_environment(e, uint64_t(time(nullptr)), hook_limit_.take_dropped()), uid_t(uid < 0 ? 0 : uid));
}

// Pressure: headroom below the low mark, or memory "full" by PSI; told once,
// again after headroom was back above the resume mark. OOM kills: the
// cgroup's counter, read at most once a second.
void Controller::watch_events(uint64_t now, bool last) {
    const int64_t low = int64_t(policy_.low_watermark(last_mem_)), high = int64_t(policy_.high_watermark(last_mem_));
    const bool full = last_mem_.psi_full_avg10 >= policy_.config().psi_full_pct;
    if (!pressure_ && (last_mem_.headroom < low || full)) {
        pressure_ = true;
        HookEvent e;
        e.event = "pressure";
        e.headroom = last_mem_.headroom;
        e.reason = last_mem_.headroom < low ? "headroom " + human_bytes(uint64_t(std::max<int64_t>(0, last_mem_.headroom))) +
                                                  " is below the low mark " + human_bytes(uint64_t(low))
                                            : "PSI memory full " + std::to_string(int(last_mem_.psi_full_avg10)) + "%";
        tell(e, -1);
    } else if (pressure_ && last_mem_.headroom >= high && !full) {
        pressure_ = false;
    }
    if (!last && now - last_oom_check_ns_ < 1'000'000'000ull) return;
    last_oom_check_ns_ = now;
    uint64_t kills = memory_->read_all().oom_kills;
    if (kills > oom_seen_) {
        HookEvent e;
        e.event = "oom-kill";
        e.reason = std::to_string(kills - oom_seen_) + " OOM kill" + (kills - oom_seen_ == 1 ? "" : "s") +
                   " in the build's memory cgroup";
        e.headroom = last_mem_.headroom;
        oom_seen_ = kills;
        tell(e, -1);
    }
}

void Controller::open_history() {
    if (o_.no_history) return;
    auto store = History::open(o_.history_db);
    if (!store->warning().empty())
        log(Level::Warning) << store->warning() << '\n';  // "history: PATH: why; predictions are off"
    if (!store->note().empty()) log(Level::Warning) << "history: " << store->note() << '\n';
    history_ = std::make_unique<JobHistory>(std::move(store), files_size_from_cwd);
}

// The ring buffer overflowed: events were lost, so one /proc walk of the
// tree adds the processes we missed and drops the ones that died unseen.
// (The kernel side tracks descendants on its own; only our model is stale.)
// Also the repair of a full task map (`after_drops` false): it tracks what was missed.
void Controller::resync(uint64_t now, bool after_drops) {
    std::vector<ProcStat> live = watching_ ? scan_watched(uids_, roots_) : scan_descendants(root_);
    std::set<uint32_t> alive{uint32_t(root_)};
    int added = 0, removed = 0;
    bool were_untracked = !untracked_.empty();
    untracked_before_.swap(untracked_);  // refilled with what is still alive and cannot be tracked
    untracked_.clear();
    for (const ProcStat& p : live) {
        alive.insert(p.pid);
        if (tree_.process(p.pid) || (!tree_.process(p.ppid) && managed_elsewhere(p.pid, false))) continue;
        if (!track(p, now)) continue;
        seed(p, now, now);
        added++;
    }
    untracked_before_.clear();
    if (were_untracked && untracked_.empty() && !o_.quiet)
        log(Level::Info) << "the task map has room again: every process is tracked (" << untracked_total_
                         << " were missed for a while)\n";
    if (!after_drops) {
        sum_.resyncs++;
        return;  // nothing died unseen: the kernel side still reports what it tracks
    }
    for (uint32_t pid : tree_.pids()) {
        // not below the root any more, but alive: reparented (make died) or daemonized; still ours
        const Process* p = tree_.process(pid);
        if (!p || alive.count(pid) || still_runs(pid_t(pid), p->seen_ns)) continue;
        ExitEvent gone;
        gone.ts_ns = now;
        gone.pid = pid;
        handle(tree_.apply(gone), now);
        removed++;
    }
    sum_.resyncs++;
    if (now - last_drop_note_ns_ >= 1'000'000'000ull) {
        log(Level::Warning) << drops_seen_ << " events lost so far (ring buffer full; raise --ringbuf-size); "
                  << "resynced the tree from /proc: +" << added << " -" << removed << " processes\n";
        last_drop_note_ns_ = now;
    }
}

// Start following a process found in /proc; false (and noted) if the task map is
// full, or if its parent could not be tracked either: then it stays out of the tree.
// A zombie, or one that died (or began to) before its entry was in, would never report
// its exit: a phantom.
bool Controller::track(const ProcStat& p, uint64_t now) {
    if (p.state == 'Z' || p.state == 'X') return false;
    if (untracked_.count(p.ppid) || !src_->track(p.pid, p.ppid)) {
        note_untracked(p.pid, now);
        return false;
    }
    if (auto again = read_proc_stat(p.pid);
        !again || again->start_ticks != p.start_ticks || again->state == 'Z' || again->exiting()) {
        src_->untrack(p.pid);
        return false;
    }
    if (printer_) printer_->name(p.pid, p.comm);
    return true;
}

// A process the kernel side does not follow: it is never stopped (the actuator lets go
// of it too), and the loop resyncs from /proc once a second until it can be tracked.
// One warning when it first happens, then at most one every 5 s with the count.
void Controller::note_untracked(uint32_t pid, uint64_t now) {
    if (!untracked_.insert(pid).second || untracked_before_.count(pid)) return;  // noted already
    actuator_->on_untracked(pid_t(pid));
    bool first = untracked_total_++ == 0;
    if (!first && now - last_untracked_note_ns_ < 5'000'000'000ull) return;
    last_untracked_note_ns_ = now;
    log(Level::Warning) << "the task map is full (--max-tasks " << o_.sensing.max_tasks << "): " << untracked_total_
                        << " processes not tracked so far; they are never stopped, and are tracked from /proc "
                           "once entries free up (raise --max-tasks)\n";
}

void Controller::record(const nlohmann::json& line) {
    if (record_file_) *record_file_ << json_line(line) << '\n';
}

// The engine's action, through the actuator; the engine sets the job's state if it went through.
bool Controller::carry_out(const Action& a, const Job& job, uint64_t now, const MemoryView& mem) {
    std::vector<pid_t> pids(job.pids.begin(), job.pids.end());
    std::string error;
    bool ok = a.type == ActionType::Resume ? actuator_->resume(a.job, pids, error) : actuator_->stop(a.job, pids, error);
    uint64_t delivered = monotonic_ns();
    if (!ok && actuator_->unheld(a.job)) {
        note_unheld(a.job, "a process", error, now);
        return false;
    }
    if (!ok) {
        log(Level::Error) << "cannot " << action_name(a.type) << " job " << a.job << " (" << printable(job.name) << "): " << error
                  << '\n';
        return false;
    }
    if (live_) live_->note(a);
    builds_.on_action(a);
    sum_.actions.count(a);
    if (printer_)
        printer_->on_decision({now, action_name(a.type), a.job, job.root_pid, job.name, job.rss, mem.headroom, a.reason,
                               newest_event_ns_, delivered, job_target(job.command), job.package, rule_name(a.rule)});
    if (hooks_) {
        HookEvent e;
        e.event = action_name(a.type);
        e.job = a.job;
        e.pid = job.root_pid;
        e.name = job.name;
        e.rss = job.rss;
        e.reason = a.reason;
        e.rule = rule_name(a.rule);
        e.headroom = mem.headroom;
        tell(e, pid_t(job.root_pid));
    }
    return true;
}

void Controller::decide(uint64_t now, bool from_timer) {
    MemorySample sample = memory_->read();
    last_mem_ = memory_view(sample, o_.memory, tree_.total_rss());
    sum_.peak_rss = std::max(sum_.peak_rss, tree_.total_rss());
    if (printer_ && now - last_memory_ns_ >= 100'000'000) {
        printer_->on_memory(now, last_mem_.headroom, last_mem_.scale, last_mem_.psi_full_avg10);
        last_memory_ns_ = now;
    }
    // CPU time is read while jobs wait (the deadlock guard, resumes) or while
    // the CPU rule may hold the next job (as many running jobs as CPUs).
    bool waiting = policy_.wants_timer(tree_);
    const double cpus = policy_.config().cpus;
    bool cpu_bound = cpus > 0 && double(tree_.jobs().size()) > cpus - 0.5;
    if (waiting || cpu_bound) {
        if (progress_.due(now)) progress_.sample(read_running_cpu(tree_), now);
    } else
        progress_.reset();
    DecisionInput in{now, from_timer, last_mem_, {}, progress_.cpu_use()};
    if (from_timer && waiting) in.blocked = progress_.blocked(now, o_.policy.deadlock_s);
    engine_.decide(in, [&](const Action& a, const Job& j) { return carry_out(a, j, now, last_mem_); });
    if (hooks_) watch_events(now);
    newest_event_ns_ = 0;
    arm_timer(engine_.timer_armed() || !untracked_.empty());  // the timer also drives the repair
    if (live_) live_->publish([this] { return status(); }, now);
    if (manager_.present()) {  // systemctl status: "2 builds, 3 jobs running, 1 waiting"
        uint64_t waiting = 0;
        for (const auto& [id, j] : tree_.jobs()) waiting += j.state != JobState::Running;
        manager_.set_status(service_status_line(watching_ ? std::optional(builds_.count()) : std::nullopt,
                                                tree_.jobs().size() - waiting, waiting, policy_.caps()));
    }
}

// Hands off: resume everything, and mark every job running, so that a
// process joining a job from now on (a shell's trap handler after Ctrl-C)
// is not stopped at join.
void Controller::release_all(uint64_t now) {
    actuator_->resume_all();
    for (const auto& [id, j] : tree_.jobs())
        if (j.state != JobState::Running) tree_.set_state(id, JobState::Running, now);
}

// Ctrl-Z (or SIGTTIN/SIGTTOU): stop ourselves, as a job-control-aware program
// does. When the terminal sent it to the launched build's group, the build
// stops with us: what we hold stays held, and since `fg`/`bg` continue the
// whole group, we stop it again once we run. Otherwise (kill -TSTP of us
// alone, or a build we do not run) the build goes on while we are stopped:
// we first resume what we hold, and decide afresh once continued.
void Controller::suspend(int sig, bool from_terminal) {
    bool with_build = launched_ && from_terminal;
    if (!with_build) release_all(monotonic_ns());
    if (!o_.quiet)
        log(Level::Notice) << "suspended by SIG" << sigabbrev_np(sig)
                           << (with_build ? " with the build; what is held stays held" : "; every job resumed") << '\n';
    stop_self();
    if (with_build) actuator_->restop();
    if (!o_.quiet) log(Level::Notice) << "continued\n";
}

// Page-outs the actuator's worker finished since the last call, into the trace.
void Controller::trace_page_outs() {
    for (const PageOutReport& r : actuator_->take_page_out_reports()) {
        const Job* j = tree_.job(r.job);
        if (printer_) printer_->on_page_out(r, j ? j->name : "?");
    }
}

void Controller::arm_timer(bool on) {
    if (on == timer_on_) return;
    if (timer_) timer_->arm_every_ns(on ? Engine::kTimerNs : 0);
    timer_on_ = on;
}

void Controller::print_summary(int exit_code) {
    if (o_.quiet) return;
    MemorySample end = memory_->read_all();
    uint64_t ooms = end.oom_kills >= oom_kills_at_start_ ? end.oom_kills - oom_kills_at_start_ : 0;
    double cpu_s = self_cpu_seconds();  // our own footprint: CPU, and below peak RSS since the BPF load
    double wall_s = (monotonic_ns() - start_ns_) / 1e9;
    char buf[768];
    snprintf(buf, sizeof buf,
             "%s in %.1f s: %llu jobs, %llu stops, %llu holds at exec, %llu resumes%s, "
             "peak tree RSS %s, OOM kills %llu%s%s; controller %.2f CPU-s (%.2f%% of a core), peak RSS %s "
             "(%s while loading BPF), %s of it anonymous at the end",
             launched_ ? ("command exited with status " + std::to_string(exit_code)).c_str()
                  : watching_ ? "stopped" : "build root exited",
             wall_s, (unsigned long long)sum_.jobs, (unsigned long long)sum_.actions.stops,
             (unsigned long long)sum_.actions.holds, (unsigned long long)sum_.actions.resumes,
             sum_.actions.deadlock_resumes ? (" (" + std::to_string(sum_.actions.deadlock_resumes) + " by the deadlock guard)").c_str() : "",
             human_bytes(sum_.peak_rss).c_str(), (unsigned long long)ooms,
             history_ ? history_->summary(sum_.jobs).c_str() : "",
             drops_seen_ ? (", " + std::to_string(drops_seen_) + " events lost, " + std::to_string(sum_.resyncs) +
                            " resyncs from /proc").c_str()
                         : "",
             cpu_s, wall_s > 0 ? 100 * cpu_s / wall_s : 0.0, human_bytes(self_status_bytes("VmHWM:")).c_str(),
             human_bytes(load_peak_rss_).c_str(), human_bytes(self_status_bytes("RssAnon:")).c_str());
    std::string more;
    if (untracked_total_)
        more = "; " + std::to_string(untracked_total_) +
                " processes not tracked (the task map is full: raise --max-tasks)";
    if (auto po = actuator_->page_out_totals(); po.jobs)
        more += "; paged out " + human_bytes(po.bytes) + " of " + std::to_string(po.jobs) + " stopped job" +
                (po.jobs == 1 ? "" : "s");
    if (sum_.unheld)
        more += "; " + std::to_string(sum_.unheld) +
                " processes not held (out of file descriptors): their jobs ran unmanaged";
    log(Level::Notice) << buf << more << '\n';
}

// Who owns the one build we manage: the user a launched command runs as, a root pid's
// real user, --user's; nobody (0) for root's build and in service mode, which manages many.
uid_t Controller::build_owner() const {
    if (launched_) return run_as_ ? run_as_->user.uid : 0;
    if (o_.service) return 0;
    if (!watching_) return uid_t(std::max(real_uid(root_), 0L));
    return uids_.size() == 1 ? uids_[0] : 0;
}

std::string Controller::what_we_manage() const {
    if (launched_) return o_.command[0] + (run_as_ ? " as " + run_as_->user.name : "");
    if (!watching_) return "pid " + std::to_string(root_);
    std::string out = o_.service ? "every build" : "the builds of user " + o_.user;
    if (o_.service) {
        if (!o_.service_users.empty()) out += " of users " + joined(o_.service_users);
        if (!roots_.empty()) out += (o_.service_users.empty() ? " under " : " and every build under ") + joined(roots_);
    }
    return out;
}

StatusSnapshot Controller::status() {
    uint64_t now = monotonic_ns();
    MemorySample m = memory_->read_all();
    StatusSnapshot s;
    s.pid = getpid();
    s.unix_time = uint64_t(time(nullptr));
    s.uptime_s = (now - start_ns_) / 1e9;
    s.start_time = start_unix_s_;
    s.managing = what_we_manage() + (launched_ ? " (pid " + std::to_string(root_) + ")" : "");
    s.actuator = actuator_->name();
    s.tree_rss = tree_.total_rss();
    s.mem = memory_view(m, o_.memory, s.tree_rss);
    s.budget = o_.memory.budget;
    s.low_mark = policy_.low_watermark(s.mem);
    s.high_mark = policy_.high_watermark(s.mem);
    s.caps = policy_.caps();
    s.jobs_total = sum_.jobs, s.stops = sum_.actions.stops, s.holds = sum_.actions.holds, s.resumes = sum_.actions.resumes;
    s.untracked = untracked_total_;
    s.stopped_s = tree_.seconds_in(JobState::Stopped, now);
    s.held_s = tree_.seconds_in(JobState::Held, now);
    s.oom_kills = m.oom_kills >= oom_kills_at_start_ ? m.oom_kills - oom_kills_at_start_ : 0;
    s.jobs = job_rows(tree_, live_ ? live_->reasons() : std::map<uint64_t, std::string>{}, now);
    const std::map<uint64_t, double> cpu = progress_.cpu_use();
    for (JobRow& r : s.jobs) {
        if (auto it = cpu.find(r.id); it != cpu.end()) r.cpu = it->second;
        r.run_now = policy_.run_now_jobs().count(r.id) > 0;
    }
    return s;
}

int Controller::run() {
    // a closed trace reader or a dead watchdog must make a write fail, not kill
    // us while jobs are stopped
    signal(SIGPIPE, SIG_IGN);
    set_level_prefixes(stderr_is_journal());
    require_host_pid_namespace();  // first: elsewhere every pid below could name another process
    if (o_.root_pid) validate_root_pid(*o_.root_pid);
    watch_for_builds();
    require_bpf_privileges();
    if (!o_.command.empty()) run_as_ = run_as_for_launch(o_.as_user);
    std::optional<gid_t> status_group;
    if (!o_.status_group.empty() && !(status_group = lookup_group(o_.status_group)))
        throw UserError(ExitCode::Usage, "--status-group " + printable(o_.status_group) + ": no such group");
    // one pidfd per tracked process; the watchdog and the trace inherit the limit
    if (std::string w = fd_limit_warning(raise_fd_limit(fds_needed(o_.sensing.max_tasks))); !w.empty())
        log(Level::Warning) << w << '\n';
    if (!o_.socket_path.empty()) refuse_if_listening(o_.socket_path);  // a second instance fails before BPF loads
    refuse_unsafe_files();
    // once: recovery, the watchdog, the actuator and the memory reader use what `probe` would report
    kernel_ = probe_kernel(o_.sensing.btf_file);
    // what an earlier swamp-bpf left stopped if it and its watchdog were killed
    for (const std::string& line : report_lines(recover_leftovers(kernel_.host))) log(Level::Warning) << line << '\n';
    AttachPlan plan = plan_or_throw(kernel_, o_.sensing);
    policy_.set_faults_counted(plan.kind != AttachKind::Tracepoint);  // tracepoints carry no fault counts
    start_ns_ = monotonic_ns();
    start_unix_s_ = clock_ns(CLOCK_REALTIME) / 1e9;
    open_trace();

    BpfOptions bpf = bpf_options(o_.sensing);
    bpf.watch_uids.assign(uids_.begin(), uids_.end());
    bpf.root_comms = roots_;
    src_ = std::make_unique<BpfSource>(bpf, plan);
    // libbpf (1.1) holds two copies of the kernel's BTF (5.5 MB each here) while it loads:
    // note that peak apart, and reset the high-water mark so that the summary's peak RSS is
    // the footprint from then on
    load_peak_rss_ = self_status_bytes("VmHWM:");
    reset_peak_rss();
    // no page faults of our own under the pressure we relieve; the watchdog locks itself
    if (std::string w = lock_memory(); !w.empty()) log(Level::Warning) << w << '\n';
    SignalFd signals(true);
    launched_ = !o_.command.empty();
    // in launch mode it forks the command, held before exec
    watchdog_ = std::make_unique<Watchdog>(kernel_.host.cgroup2, o_.command, run_as_);
    set_oom_score_adj(-1000);  // after that fork: the build keeps the user's value
    // and its nice: we, not the build, must get a CPU at once when a job grows
    if (std::string w = raise_priority(kControllerNice); !w.empty()) log(Level::Warning) << w << '\n';
    actuator_ = make_actuator(
        {o_.action, o_.root_pid ? *o_.root_pid : getpid(), o_.protect, watchdog_.get(), o_.page_out, kernel_.host});
    open_history();  // before the first job: it may take a moment on a big history
    start_tree();
    owner_ = build_owner();
    memory_ = std::make_unique<MemoryReader>(watching_ ? 1 : root_, kernel_.host);
    oom_kills_at_start_ = memory_->read_all().oom_kills;
    if (printer_ && record_file_) {
        *record_file_ << record_start_line(start_ns_, root_) << '\n';
        record(settings_json({policy_.config(), policy_.caps(), tree_config(o_)}));
        engine_.on_input([this](const DecisionInput& in) { record(input_json(in)); });
    }
    if (!o_.quiet)
        log(Level::Notice) << "managing " << printable(what_we_manage()) << " with " << actuator_->name()
                           << "; memory: " << memory_->describe() << "; BPF: " << plan_summary(plan) << '\n';
    // after the watchdog's fork, so that only we hold the listening socket
    if (!o_.socket_path.empty() || !o_.status_file.empty() || !o_.metrics_file.empty())
        live_ = std::make_unique<LiveControl>(o_.socket_path, o_.status_file, o_.metrics_file,
                                              o_.quiet ? nullptr : &std::cerr);
    if (live_) live_->set_owner(owner_, status_group ? *status_group : gid_t(-1));
    if (!o_.on_event.empty()) {
        hooks_ = std::make_unique<HookRunner>(o_.on_event, o_.quiet ? nullptr : &std::cerr);
        oom_seen_ = oom_kills_at_start_;
    }
    if (launched_) watchdog_->start_command();
    manager_.notify("READY=1");  // under systemd (Type=notify): BPF is attached, the builds are ours

    int ep = epoll_create1(EPOLL_CLOEXEC);
    timer_ = std::make_unique<TimerFd>();
    int root_fd = launched_ || watching_ ? -1 : open_pidfd(root_);
    auto watch = [&](int fd, uint32_t events) { epoll_watch(ep, fd, events); };
    watch(src_->fd(), EPOLLIN);
    watch(signals.fd(), EPOLLIN);
    watch(timer_->fd(), EPOLLIN);
    watch(root_fd, EPOLLIN);
    const int watchdog_fd = watchdog_->reply_fd();  // the command's exit; EOF if the watchdog dies
    watch(watchdog_fd, EPOLLIN);
    const int psi_fd = memory_->psi_fd();
    watch(psi_fd, EPOLLPRI);
    watch(manager_.watchdog_fd(), EPOLLIN);  // WatchdogSec=: WATCHDOG=1 while this loop turns
    if (live_) live_->attach(ep);
    if (hooks_) watch(hooks_->timer_fd(), EPOLLIN);

    auto sink = [&](const Event& e, std::span<const std::byte> raw) { on_event(e, raw); };
    std::optional<int> status = launched_ ? watchdog_->command_status() : std::nullopt;  // it may be over already
    bool done = status.has_value(), ending = false, root_exited = false;  // ending: hands off, we only wait for the command
    int interrupts = 0;
    decide(monotonic_ns(), false);
    while (!done) {
        epoll_event evs[8];
        // No polling: the kernel side wakes us for exec, exit, upward RSS steps and major
        // faults; quieter events ride along. While jobs wait, the timer ticks every 250 ms.
        // Right after events came, we come back within 5 ms instead of being woken for
        // every exec and exit of a storm (BpfSource::poll_timeout_ms).
        int n = epoll_wait(ep, evs, 8, src_->poll_timeout_ms());
        bool from_timer = false, woken_by_events = n == 0;  // n == 0: back after lingering for events
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == src_->fd()) {
                woken_by_events = true;
            } else if (fd == timer_->fd()) {
                timer_->acknowledge();
                from_timer = true;
            } else if (fd == manager_.watchdog_fd()) {
                manager_.watchdog_tick();
            } else if (fd == root_fd) {
                done = root_exited = true;
            } else if (fd == watchdog_fd) {
                watchdog_->read_replies();
                status = watchdog_->command_status();
                if (watchdog_->died()) {
                    // never run on without it: if we died now, nothing would resume what we stopped
                    log(Level::Error) << "the watchdog (pid " << watchdog_->pid()
                                      << ") died: resuming every job and exiting"
                                      << (launched_ ? "; the build command runs on unmanaged" : "") << '\n';
                    watchdog_lost_ = true;
                    epoll_unwatch(ep, watchdog_fd);
                }
                done = status.has_value() || watchdog_lost_;
            } else if (hooks_ && fd == hooks_->timer_fd()) {
                hooks_->expire();
            } else if (live_ && live_->handle(fd, policy_, [this] { return this->status(); })) {
                // served ctl clients (a change of caps is decided below) or a deferred status write
            } else if (fd == psi_fd && psi_fd >= 0) {
                // a trigger whose cgroup went away reports POLLERR for ever: psi_fired()
                // closes it, which also takes it out of epoll
                memory_->psi_fired();
            } else if (fd == signals.fd()) {
                while (int sig = signals.read()) {
                    if (sig == SIGCHLD) {
                        // our children: the watchdog and --on-event's hooks
                        reap_children([&](pid_t p, int st) {
                            if (hooks_) hooks_->reaped(p, st);
                        });
                    } else if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
                        if (!ending) suspend(sig, signals.last_code() == SI_KERNEL);
                    } else {
                        // resume everything first; the build decides how to end. The command is
                        // in our process group: the terminal's signals (Ctrl-C, hangup) and SIGINT,
                        // which goes to a whole group by convention, reach it directly, and a
                        // second copy makes make abandon its jobs' clean-up. SIGTERM is passed on.
                        ending = true;
                        release_all(monotonic_ns());
                        bool command_got_it = sig == SIGINT || signals.last_code() == SI_KERNEL;
                        if (launched_ && !command_got_it) kill(root_, sig);
                        if (!launched_ || ++interrupts >= 2) done = true;
                    }
                }
            }
        }
        int got = src_->drain(sink);
        if (uint64_t dropped = src_->dropped(); dropped > drops_seen_) {
            drops_seen_ = dropped;
            if (printer_) printer_->on_drops(dropped);
            if (!done && !ending) resync(monotonic_ns());
        }
        // a full task map: try again from /proc, at most once a second
        if (uint64_t now = monotonic_ns(); !done && !ending && !untracked_.empty() && now - last_repair_ns_ >= 1'000'000'000ull) {
            last_repair_ns_ = now;
            resync(now, false);
        }
        if (!done && !ending && (n > 0 || got > 0)) {
            // the trace's trigger is a kernel event that woke us, not one that waited for the timer,
            // PSI or a ctl client (the ring buffer wakes us only for some events)
            if (from_timer || !woken_by_events) newest_event_ns_ = 0;
            decide(monotonic_ns(), from_timer);
        }
        trace_page_outs();
    }
    manager_.notify("STOPPING=1");
    src_->drain(sink);
    release_all(monotonic_ns());
    trace_page_outs();
    if (root_fd >= 0) close(root_fd);
    timer_.reset();
    close(ep);
    int code = watchdog_lost_ ? int(ExitCode::Failure) : launched_ ? (status ? exit_code_of(*status) : 130) : 0;
    if (live_) live_->finish(this->status());
    if (hooks_) watch_events(monotonic_ns(), true);  // an OOM kill that ended the build is told before its end
    // the build ended (not we: a signal to us is no build end); --user and service mode told each build's end
    if (hooks_ && !watching_ && ((launched_ && status) || root_exited)) {
        HookEvent end;
        end.event = "build-end";
        end.pid = uint32_t(root_);
        if (launched_ && status) end.exit_status = code;
        end.reason = launched_ ? "the command exited with status " + std::to_string(code) : "the build root exited";
        end.headroom = last_mem_.headroom;
        tell(end, -1);
    }
    if (hooks_) hooks_->finish(kHookGraceMs);
    print_summary(code);
    return code;
}

}  // namespace

int run_controller(const ControllerOptions& o) {
    Controller c(o);
    return c.run();
}

}  // namespace swamp
