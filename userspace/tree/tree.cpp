#include "tree/tree.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>

namespace swamp {

const char* job_state_name(JobState s) {
    switch (s) {
    case JobState::Running: return "running";
    case JobState::Stopped: return "stopped";
    case JobState::Held: return "held";
    }
    return "?";
}

namespace {

std::string base_name(const std::string& path) {
    size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool gentoo_name(std::string_view s) {
    return !s.empty() && s.size() <= 64 && s[0] != '.' && s[0] != '-' &&
           std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum((unsigned char)c) || c == '+' || c == '_' || c == '.' || c == '-'; });
}

}  // namespace

std::string job_target(const std::string& command) {
    std::vector<std::string> argv;
    std::istringstream in(command);
    for (std::string w; in >> w;) argv.push_back(w);
    std::string target;
    for (size_t i = 1; i < argv.size(); i++) {
        const std::string& a = argv[i];
        if ((a == "-o" || a == "--out" || a == "--output") && i + 1 < argv.size()) {
            target = argv[i + 1];
            break;
        }
        if (a.size() > 2 && a.rfind("-o", 0) == 0 && a[2] != '-') {
            target = a.substr(2);
            break;
        }
        if (a[0] != '-') target = a;  // else the last operand
    }
    return base_name(target);
}

std::string job_label(const std::string& name, const std::string& command) {
    std::string program = name.empty() ? "?" : name, target = job_target(command);
    return target.empty() || target == program ? program : program + " " + target;
}

std::string package_name(std::string_view category, std::string_view pf) {
    return gentoo_name(category) && gentoo_name(pf) ? std::string(category) + "/" + std::string(pf) : "";
}

Tree::Tree(TreeConfig cfg) : cfg_(std::move(cfg)) {}

void Tree::set_package(uint32_t pid, const std::string& package) {
    auto it = procs_.find(pid);
    if (it == procs_.end()) return;
    it->second.package = package;
    if (auto jt = jobs_.find(it->second.job); jt != jobs_.end() && jt->second.root_pid == pid) jt->second.package = package;
}

bool Tree::is_driver_name(const std::string& comm) const {
    return std::find(cfg_.drivers.begin(), cfg_.drivers.end(), comm) != cfg_.drivers.end();
}

bool Tree::is_shell(const std::string& comm) const {
    return std::find(cfg_.shells.begin(), cfg_.shells.end(), comm) != cfg_.shells.end();
}

const Job* Tree::job(uint64_t id) const {
    auto it = jobs_.find(id);
    return it == jobs_.end() ? nullptr : &it->second;
}

const Process* Tree::process(uint32_t pid) const {
    auto it = procs_.find(pid);
    return it == procs_.end() ? nullptr : &it->second;
}

std::vector<uint32_t> Tree::pids() const {
    std::vector<uint32_t> out;
    for (const auto& [pid, p] : procs_) out.push_back(pid);
    return out;
}

std::vector<uint32_t> Tree::job_pids(uint64_t id) const {
    const Job* j = job(id);
    return j ? std::vector<uint32_t>(j->pids.begin(), j->pids.end()) : std::vector<uint32_t>{};
}

uint64_t Tree::total_rss() const {
    uint64_t sum = 0;
    for (const auto& [pid, p] : procs_) sum += p.rss;
    return sum;
}

void Tree::add_root(uint32_t pid, uint32_t ppid, const std::string& comm, uint64_t now_ns) {
    TreeDelta unused;
    Process& p = add_process(pid, ppid, comm, now_ns, unused);
    p.driver = true;
}

TreeDelta Tree::seed(uint32_t pid, uint32_t ppid, const std::string& comm, const std::string& command, uint64_t now_ns) {
    TreeDelta d;
    if (procs_.count(pid)) return d;
    Process& p = add_process(pid, ppid, comm, now_ns, d);
    p.command = command;
    p.execd = true;
    place(p, now_ns, d);
    return d;
}

// A process first seen already running its program (start-up walk, or an exec
// without a fork event): a driver inside a job dissolves that job, as if it
// had exec'd the driver there.
void Tree::place(Process& p, uint64_t now_ns, TreeDelta& d) {
    bool driver = is_driver_name(p.comm);
    auto parent = procs_.find(p.ppid);
    bool parent_in_job = parent != procs_.end() && !parent->second.driver && parent->second.job;
    if (driver && !parent_in_job) {
        p.driver = true;
        return;
    }
    assign(p, now_ns, d);
    if (driver)
        become_driver(p, now_ns, d);
    else
        name_job(p);
}

// Name a job after what it runs, not after make's fork or a wrapper shell.
void Tree::name_job(const Process& p) {
    auto jt = jobs_.find(p.job);
    if (jt == jobs_.end()) return;
    Job& j = jt->second;
    auto rt = procs_.find(j.root_pid);
    bool root_is_wrapper = rt != procs_.end() && is_shell(rt->second.comm) && (is_shell(j.name) || j.name == rt->second.comm);
    if (p.pid == j.root_pid || (root_is_wrapper && p.ppid == j.root_pid)) {
        j.name = p.comm;
        j.command = p.command;
    }
}

Process& Tree::add_process(uint32_t pid, uint32_t ppid, const std::string& comm, uint64_t now_ns, TreeDelta&) {
    Process& p = procs_[pid];
    p.pid = pid;
    p.seen_ns = now_ns;
    p.ppid = ppid;
    p.comm = comm;
    if (auto parent = procs_.find(ppid); parent != procs_.end()) p.package = parent->second.package;
    return p;
}

// A process's job follows from its parent: a driver's child starts a job, a
// job member's child joins that job, anything else is outside every job.
void Tree::assign(Process& p, uint64_t now_ns, TreeDelta& d) {
    if (p.driver) return;
    auto parent = procs_.find(p.ppid);
    if (parent == procs_.end()) return;
    if (parent->second.driver) {
        Job& j = jobs_[next_job_];
        j.id = next_job_++;
        j.root_pid = p.pid;
        j.name = p.comm;
        j.command = p.command;
        j.package = p.package;
        j.execd = p.execd;
        j.start_ns = j.state_since_ns = j.rss_changed_ns = now_ns;
        d.new_jobs.push_back(j.id);
        if (j.execd) d.started_jobs.push_back(j.id);
        p.job = j.id;
    } else if (parent->second.job) {
        p.job = parent->second.job;
    } else {
        return;
    }
    Job& j = jobs_[p.job];
    j.pids.insert(p.pid);
    update_rss(j, now_ns);
    d.joined.emplace_back(p.job, p.pid);
}

// A driver's fork that forks in turn before it execs anything is a worker of
// that driver (distccd's and emerge's pre-forked children): a driver too, so
// that each command it runs is a job of its own. make's and ninja's forks exec
// first.
bool Tree::is_worker(const Process& p) const {
    auto jt = jobs_.find(p.job);
    if (jt == jobs_.end() || jt->second.root_pid != p.pid || p.execd) return false;
    auto parent = procs_.find(p.ppid);
    return parent != procs_.end() && parent->second.driver;
}

// `p` exec'd a driver: it and the wrappers above it in its job become drivers,
// and the job's other processes are re-assigned (parents first).
void Tree::become_driver(Process& p, uint64_t now_ns, TreeDelta& d) {
    p.driver = true;
    uint64_t id = p.job;
    if (!id) return;
    Job& j = jobs_[id];
    for (uint32_t pid = p.pid; pid;) {
        auto it = procs_.find(pid);
        if (it == procs_.end() || it->second.job != id) break;
        it->second.driver = true;
        pid = pid == j.root_pid ? 0 : it->second.ppid;
    }
    std::vector<uint32_t> members(j.pids.begin(), j.pids.end());
    end_wait(j, now_ns);
    jobs_.erase(id);
    d.dissolved_jobs.push_back(id);
    auto depth = [&](uint32_t pid) {
        int n = 0;
        for (auto it = procs_.find(pid); it != procs_.end() && n < 4096; it = procs_.find(it->second.ppid)) n++;
        return n;
    };
    std::sort(members.begin(), members.end(), [&](uint32_t a, uint32_t b) { return depth(a) < depth(b); });
    for (uint32_t pid : members) {
        Process& m = procs_[pid];
        m.job = 0;
        assign(m, now_ns, d);
    }
}

void Tree::remove_process(uint32_t pid, uint64_t now_ns, TreeDelta& d) {
    auto it = procs_.find(pid);
    if (it == procs_.end()) return;
    uint64_t id = it->second.job;
    procs_.erase(it);
    d.exited.push_back(pid);
    auto jt = jobs_.find(id);
    if (jt == jobs_.end()) return;
    jt->second.pids.erase(pid);
    if (jt->second.pids.empty()) {
        end_wait(jt->second, now_ns);
        d.ended.push_back(std::move(jt->second));
        jobs_.erase(jt);
        jobs_ended_++;
        d.ended_jobs.push_back(id);
    } else {
        update_rss(jt->second, now_ns);
    }
}

void Tree::update_rss(Job& j, uint64_t now_ns) {
    uint64_t rss = 0, swap = 0;
    double maj = 0;
    for (uint32_t pid : j.pids) {
        const Process& p = procs_[pid];
        rss += p.rss;
        swap += p.swap;
        maj += p.maj_per_s;
    }
    j.maj_per_s = maj;
    j.swap = swap;
    if (rss != j.rss) {
        double dt = (now_ns - j.rss_changed_ns) / 1e9;
        if (dt > 0 && j.rss_changed_ns) {
            double inst = (double(rss) - double(j.rss)) / std::max(dt, 0.02);
            double alpha = 1 - std::exp(-dt / cfg_.growth_tau_s);
            j.growth += alpha * (inst - j.growth);
        }
        j.rss = rss;
        j.rss_changed_ns = now_ns;
    }
    if (j.rss > j.peak) {
        j.peak = j.rss;
        j.peak_run_ns = j.run_ns(now_ns);
    }
}

TreeDelta Tree::apply(const Event& e) {
    TreeDelta d;
    uint64_t now = event_ts(e);
    if (auto* f = std::get_if<ForkEvent>(&e)) {
        // untracked: the kernel will report nothing more of it, so it never joins
        // a job (never stopped, never counted); a resync from /proc adds it later
        if (f->thread || f->untracked || procs_.count(f->pid)) return d;
        Process& p = add_process(f->pid, f->ppid, f->comm, now, d);
        if (auto parent = procs_.find(f->ppid); parent != procs_.end() && is_worker(parent->second))
            become_driver(parent->second, now, d);
        assign(p, now, d);
    } else if (auto* x = std::get_if<ExecEvent>(&e)) {
        auto it = procs_.find(x->pid);
        if (it == procs_.end()) {
            if (x->untracked) return d;  // a root the kernel could not adopt: as above
            // exec of a process we never saw fork (e.g. the launched command)
            Process& p = add_process(x->pid, x->ppid, x->comm, now, d);
            p.command = join_argv(x->argv);
            p.execd = true;
            place(p, now, d);
            return d;
        }
        Process& p = it->second;
        p.comm = x->comm;
        p.command = join_argv(x->argv);
        p.execd = true;
        if (!p.driver && is_driver_name(p.comm)) {
            become_driver(p, now, d);
            return d;
        }
        if (auto jt = jobs_.find(p.job); jt != jobs_.end() && jt->second.root_pid == p.pid && !jt->second.execd) {
            jt->second.execd = true;
            d.started_jobs.push_back(jt->first);
        }
        name_job(p);
    } else if (auto* x = std::get_if<ExitEvent>(&e)) {
        // the kernel's high-water mark catches a peak between two RSS steps
        if (auto it = procs_.find(x->pid); it != procs_.end())
            if (auto jt = jobs_.find(it->second.job); jt != jobs_.end())
                jt->second.peak = std::max(jt->second.peak, x->peak_rss);
        remove_process(x->pid, now, d);
    } else if (auto* r = std::get_if<RssEvent>(&e)) {
        auto it = procs_.find(r->pid);
        if (it == procs_.end()) return d;
        it->second.rss = r->rss;
        it->second.swap = r->swap;
        if (auto jt = jobs_.find(it->second.job); jt != jobs_.end()) update_rss(jt->second, now);
    } else if (auto* f = std::get_if<FaultEvent>(&e)) {
        auto it = procs_.find(f->pid);
        if (it == procs_.end()) return d;
        it->second.maj_per_s = f->maj_per_s();
        it->second.faults_ns = now;
        if (auto jt = jobs_.find(it->second.job); jt != jobs_.end()) update_rss(jt->second, now);
    }
    return d;
}

void Tree::tick(uint64_t now_ns) {
    auto stale = [&](uint64_t ts, double limit_s) { return now_ns > ts && (now_ns - ts) / 1e9 > limit_s; };
    for (auto& [pid, p] : procs_)
        if (p.maj_per_s && stale(p.faults_ns, cfg_.fault_stale_s)) p.maj_per_s = 0;
    for (auto& [id, j] : jobs_) {
        double maj = 0;
        for (uint32_t pid : j.pids) maj += procs_[pid].maj_per_s;
        j.maj_per_s = maj;
        if (stale(j.rss_changed_ns, cfg_.growth_stale_s)) j.growth = 0;
    }
}

void Tree::set_prediction(uint64_t id, uint64_t peak, double secs, double peak_at_s, int runs, bool at_least) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return;
    it->second.predicted_peak = peak;
    it->second.predicted_s = secs;
    it->second.predicted_peak_s = peak_at_s;
    it->second.predicted_runs = runs;
    it->second.predicted_at_least = at_least;
}

void Tree::set_protected(uint64_t id) {
    if (auto it = jobs_.find(id); it != jobs_.end()) it->second.is_protected = true;
}

void Tree::set_state(uint64_t id, JobState s, uint64_t now_ns) {
    auto it = jobs_.find(id);
    if (it == jobs_.end() || it->second.state == s) return;
    if (s != JobState::Running) it->second.stops++;
    end_wait(it->second, now_ns);
    if (s == JobState::Running && now_ns > it->second.state_since_ns)
        it->second.waited_ns += now_ns - it->second.state_since_ns;
    it->second.state = s;
    it->second.state_since_ns = now_ns;
}

void Tree::end_wait(const Job& j, uint64_t now_ns) {
    if (j.state != JobState::Running && now_ns > j.state_since_ns)
        waited_ns_[j.state == JobState::Held] += now_ns - j.state_since_ns;
}

double Tree::seconds_in(JobState s, uint64_t now_ns) const {
    if (s == JobState::Running) return 0;
    uint64_t ns = waited_ns_[s == JobState::Held];
    for (const auto& [id, j] : jobs_)
        if (j.state == s && now_ns > j.state_since_ns) ns += now_ns - j.state_since_ns;
    uint64_t& reported = reported_ns_[s == JobState::Held];
    reported = std::max(reported, ns);
    return reported / 1e9;
}

}  // namespace swamp
