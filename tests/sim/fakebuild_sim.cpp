// fakebuild_sim: runs the real policy (userspace/policy) and build model
// (userspace/tree) against a simulated fake build, in simulated time. It reads
// the job annotations of tests/fakebuild/Makefile.PROFILE, plays `make -jN`
// (dependencies, job slots, start order), shares `--cores` CPUs among the jobs
// that are not stopped, grows each job's memory as hog does
// (tests/fakebuild/hog_shape.hpp), and OOM-kills when the memory limit is
// crossed. Deterministic and fast (a build in well under a second), so policy
// changes can be judged on whole builds; the real runs in tests/bench/outcome.sh
// remain the measure. A job's memory follows its shape= or a curve= recorded
// from a real build (tests/sim/trace_to_jobs.py). Page cache, crudely: each
// running job needs file= MiB of file pages resident; where anonymous memory
// leaves less, it crawls (speed (left/needed)^3, at least 2%) and reports
// major faults, as a real compiler thrashes long before an OOM kill. The OOM
// kill comes when anonymous memory crosses the limit; a build not done after
// 20x its lower bound has hung. It leaves out reaction latency and the
// kernel's rss_stat batching (RSS is reported in 16 MiB steps, as by the BPF side).
//
// Usage: fakebuild_sim --makefile FILE --limit MIB [--jobs N] [--cores C] [--no-policy] [--predict]
//            [--no-cpu-rule] [--expect-oom]
//            [--max-ratio R] [--verbose] [--snapshots] [--horizon S] [--settle S] [--min-run S] [--growth-reserve F] [--tau S]
// --predict runs the build twice: a reactive first run records each job's
// peak, run time and time of peak, as the history store would, and the second
// run (the one reported) starts each job with that prediction.
// --verbose prints each decision and the OOM kill; --snapshots every job's
// RSS and growth each 0.5 s.
// Prints one line: wall_s= lb_s= ratio= ooms= stops= holds= resumes= utilisation= thrash_s=
// and exits 1 on an OOM kill or a hang, or when wall / lower bound is above --max-ratio
// (with --expect-oom: exits 0 only on an OOM kill, to show a limit binds).
// --no-cpu-rule leaves out the policy's CPU rule (PolicyConfig::cpus).
// The lower bound is outcome.sh's: max(cpu_s / cores, mib_s / limit, critical path).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "hog_shape.hpp"
#include "engine/engine.hpp"
#include "history/prediction.hpp"

namespace {

using namespace swamp;

constexpr double kMiB = 1 << 20;
constexpr double kStepS = 0.01;
constexpr double kRssStep = 16 * kMiB;  // the BPF side reports RSS each time it moves this far (--rss-step)
constexpr double kBaseMiB = 32;  // make, binaries, page cache: what a real cgroup holds besides the jobs

struct SimJob {
    std::string name;
    double mib = 0, cpu = 0;
    hog::Shape shape = hog::Shape::Ramp;
    std::vector<double> curve;  // recorded MiB at the end of equal slices of its run (trace_to_jobs.py)
    double file_mib = 0;        // file pages it needs resident to run at full speed
    double started_s = 0;       // when make started it
    // Fraction of the peak resident at progress p: a curve's point i is at
    // the end of slice i, and it starts from nothing.
    double fraction(double p) const {
        if (curve.empty() || mib <= 0) return hog::memory_fraction(shape, p);
        double x = std::clamp(p, 0.0, 1.0) * double(curve.size());
        size_t i = std::min(curve.size() - 1, size_t(x));
        double from = i ? curve[i - 1] : 0.0;
        return (from + (curve[i] - from) * std::min(1.0, x - double(i))) / mib;
    }
    std::vector<std::string> deps;
    enum { Waiting, Active, Done } phase = Waiting;
    double done_cpu = 0;
    uint32_t pid = 0;
    uint64_t id = 0;  // tree job id
    bool stopped = false;
    uint64_t reported_rss = 0;
};

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "fakebuild_sim: %s\n", msg.c_str());
    std::exit(2);
}

// "# job NAME mib=.. cpu=.. shape=.. deps=A,B" lines and the `all:` line.
void read_makefile(const std::string& path, std::map<std::string, SimJob>& jobs, std::vector<std::string>& all) {
    std::ifstream in(path);
    if (!in) die("cannot read " + path);
    std::string line;
    bool in_all = false;
    while (std::getline(in, line)) {
        std::istringstream ss(line);
        std::string w;
        if (line.rfind("# job ", 0) == 0) {
            SimJob j;
            ss >> w >> w >> j.name;
            while (ss >> w) {
                auto eq = w.find('=');
                std::string k = w.substr(0, eq), v = w.substr(eq + 1);
                if (k == "mib") j.mib = std::stod(v);
                else if (k == "cpu") j.cpu = std::stod(v);
                else if (k == "shape") j.shape = hog::parse_shape(v).value_or(hog::Shape::Ramp);
                else if (k == "file") j.file_mib = std::stod(v);
                else if (k == "curve") {
                    std::istringstream cs(v);
                    for (std::string c; std::getline(cs, c, '/');) j.curve.push_back(std::stod(c));
                }
                else if (k == "deps") {
                    std::istringstream ds(v);
                    for (std::string d; std::getline(ds, d, ',');) j.deps.push_back(d);
                }
            }
            jobs[j.name] = j;
        } else if (line.rfind("all:", 0) == 0 || in_all) {
            if (!in_all) ss >> w;  // "all:"
            while (ss >> w)
                if (w != "\\" && w != "|") all.push_back(w.rfind("$(OUT)/", 0) == 0 ? w.substr(7) : w);
            in_all = !line.empty() && line.back() == '\\';
        }
    }
    if (jobs.empty() || all.empty()) die(path + ": no '# job' annotations or no all: line");
}

// make's order: each goal's prerequisites first, depth first, in the order listed.
void visit(const std::string& name, std::map<std::string, SimJob>& jobs, std::vector<SimJob*>& order,
           std::map<std::string, bool>& seen) {
    if (seen[name]) return;
    seen[name] = true;
    auto it = jobs.find(name);
    if (it == jobs.end()) die("unknown job " + name);
    for (const auto& d : it->second.deps) visit(d, jobs, order, seen);
    order.push_back(&it->second);
}

double lower_bound(const std::map<std::string, SimJob>& jobs, int cores, double limit_mib) {
    double cpu = 0, mib_s = 0, cp = 0;
    std::map<std::string, double> finish;
    for (bool changed = true; changed;) {  // critical path, relaxed until stable
        changed = false;
        for (const auto& [n, j] : jobs) {
            double start = 0;
            for (const auto& d : j.deps) start = std::max(start, finish[d]);
            if (start + j.cpu > finish[n] + 1e-9) finish[n] = start + j.cpu, changed = true;
        }
    }
    for (const auto& [n, j] : jobs) {
        cpu += j.cpu;
        cp = std::max(cp, finish[n]);
        for (int k = 0; k < 100; k++) mib_s += j.mib * j.fraction((k + 0.5) / 100) * j.cpu / 100;
    }
    return std::max({cpu / cores, mib_s / limit_mib, cp});
}

}  // namespace

int main(int argc, char** argv) {
    std::string makefile;
    double limit_mib = 0;
    int jobs_n = 4, cores = 2;
    bool use_policy = true, verbose = false, snapshots = false, predict = false, cpu_rule = true, expect_oom = false;
    double max_ratio = 0;  // > 0: exit 1 when wall / lower bound is above it
    PolicyConfig pcfg;
    TreeConfig tcfg;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto val = [&] { return i + 1 < argc ? std::string(argv[++i]) : (die(a + " needs a value"), ""); };
        if (a == "--makefile") makefile = val();
        else if (a == "--limit") limit_mib = std::stod(val());
        else if (a == "--jobs") jobs_n = std::stoi(val());
        else if (a == "--cores") cores = std::stoi(val());
        else if (a == "--no-policy") use_policy = false;
        else if (a == "--predict") predict = true;
        else if (a == "--max-ratio") max_ratio = std::stod(val());
        else if (a == "--verbose") verbose = true;
        else if (a == "--snapshots") snapshots = true;
        else if (a == "--horizon") pcfg.horizon_s = std::stod(val());
        else if (a == "--growth-reserve") pcfg.growth_reserve = std::stod(val());
        else if (a == "--tau") tcfg.growth_tau_s = std::stod(val());
        else if (a == "--settle") pcfg.settle_s = std::stod(val());
        else if (a == "--min-run") pcfg.min_run_s = std::stod(val());
        else if (a == "--no-cpu-rule") cpu_rule = false;
        else if (a == "--expect-oom") expect_oom = true;
        else die("usage: fakebuild_sim --makefile FILE --limit MIB [--jobs N] [--cores C] [--no-policy] [--predict]\n"
                 "       [--max-ratio R] [--verbose] [--snapshots] [--no-cpu-rule] [--expect-oom]\n"
                 "       [--horizon S] [--settle S] [--min-run S] [--growth-reserve F] [--tau S]   (policy and model settings)");
    }
    if (makefile.empty() || limit_mib <= 0) die("--makefile and --limit are required");
    if (cpu_rule) pcfg.cpus = cores;  // as the controller does: the CPUs the build may use

    std::map<std::string, SimJob> pristine;
    std::vector<std::string> all;
    read_makefile(makefile, pristine, all);
    // --predict: a first, reactive run fills the history the second run
    // predicts from, as the history store does (predict_peak, its default margin)
    std::map<std::string, std::vector<PastRun>> history;  // by job name
    for (int pass = predict ? 0 : 1; pass < 2; pass++) {
    const bool last = pass == 1;
    std::map<std::string, SimJob> jobs = pristine;
    std::vector<SimJob*> order;
    std::map<std::string, bool> seen;
    for (const auto& g : all) visit(g, jobs, order, seen);

    Engine engine(tcfg, pcfg);
    Tree& tree = engine.tree();
    uint64_t now = 1'000'000'000;
    tree.add_root(1, 0, "make", now);
    uint32_t next_pid = 100;
    std::map<uint64_t, SimJob*> by_id;
    int ooms = 0, stops = 0, holds = 0, resumes = 0;
    double t = 0, busy = 0, thrash_s = 0;
    const double limit = limit_mib * kMiB;

    // A build that takes this long has hung (livelocked): it is cut and fails.
    const double give_up_s = 20 * lower_bound(jobs, cores, limit_mib);
    bool hung = false;
    uint64_t step = 0;
    for (size_t finished = 0; finished < order.size() && ooms == 0; t += kStepS, now += uint64_t(kStepS * 1e9), step++) {
        if (t > give_up_s) {
            hung = true;
            break;
        }
        // make: start ready jobs in its order while a slot is free (stopped jobs keep theirs)
        int active = 0;
        for (SimJob* j : order) active += j->phase == SimJob::Active;
        for (SimJob* j : order) {
            if (active >= jobs_n) break;
            if (j->phase != SimJob::Waiting) continue;
            bool ready = true;
            for (const auto& d : j->deps) ready = ready && jobs[d].phase == SimJob::Done;
            if (!ready) continue;
            j->pid = next_pid++;
            TreeDelta d = tree.apply(ForkEvent{now, j->pid, j->pid, 1, "make", false});
            tree.apply(ExecEvent{now, j->pid, 1, "hog", "/usr/bin/hog", {"hog", "--out", j->name}, false});
            j->id = d.new_jobs.empty() ? 0 : d.new_jobs.front();
            if (auto h = history.find(j->name); h != history.end())
                if (auto p = predict_peak(h->second, 0, PredictionConfig{}))
                    tree.set_prediction(j->id, p->peak, p->duration_s, p->peak_at_s, p->runs, p->at_least);
            by_id[j->id] = j;
            j->phase = SimJob::Active;
            j->started_s = t;
            active++;
        }
        // CPU: the cores are shared by the jobs that are not stopped
        int running = 0;
        for (SimJob* j : order) running += j->phase == SimJob::Active && !j->stopped;
        double share = running ? std::min(1.0, double(cores) / running) : 0;
        // Page cache: running jobs need their file pages (file=) resident;
        // where anonymous memory leaves less, they refault and crawl, as a
        // real compiler does in a full cgroup long before an OOM kill.
        double anon = kBaseMiB * kMiB, file_demand = 0;
        for (SimJob* j : order)
            if (j->phase == SimJob::Active) {
                anon += j->fraction(j->done_cpu / j->cpu) * j->mib * kMiB;
                if (!j->stopped) file_demand += j->file_mib * kMiB;
            }
        const double slack = std::max(0.0, limit - anon);
        const double speed = file_demand <= slack ? 1.0 : std::max(0.02, std::pow(slack / file_demand, 3));
        if (speed < 1) thrash_s += kStepS;
        busy += std::min(running, cores) * kStepS * speed;
        double used = kBaseMiB * kMiB;  // anonymous: what no reclaim can take without swap
        for (SimJob* j : order) {
            if (j->phase != SimJob::Active) continue;
            if (!j->stopped) j->done_cpu += share * speed * kStepS;
            if (!j->stopped && speed < 1 && step % 25 == 0)  // what the BPF side reports, every 250 ms
                tree.apply(FaultEvent{now, j->pid, 250'000'000, 0, uint64_t(250 * (1 - speed))});
            double rss = j->fraction(j->done_cpu / j->cpu) * j->mib * kMiB;
            if (j->done_cpu >= j->cpu) {
                for (const Job& ended : tree.apply(ExitEvent{now, j->pid, 1, "hog", 0, uint64_t(rss), 0, 0}).ended)
                    history[j->name].push_back({ended.peak, ended.run_ns(now) / 1e9, ended.peak_run_ns / 1e9});
                j->phase = SimJob::Done;
                finished++;
                continue;
            }
            used += rss;
            if (std::fabs(rss - double(j->reported_rss)) >= kRssStep) {
                j->reported_rss = uint64_t(rss);
                tree.apply(RssEvent{now, j->pid, j->reported_rss, j->reported_rss, 0, 0, 0, j->reported_rss});
            }
        }
        const double file_resident = std::min(file_demand, std::max(0.0, limit - used));
        if (used > limit) {
            ooms++;
            for (SimJob* j : order)  // the killed build's jobs: what they reached (a lower bound)
                if (const Job* tj = j->phase == SimJob::Active ? tree.job(j->id) : nullptr)
                    history[j->name].push_back({tj->peak, tj->run_ns(now) / 1e9, tj->peak_run_ns / 1e9, 0, false});
            if (verbose && last) {
                std::printf("%7.2f OOM at %.0f MiB (anon %.0f, speed %.2f):", t, used / kMiB, anon / kMiB, speed);
                for (SimJob* j : order)
                    if (j->phase == SimJob::Active)
                        std::printf(" %s%s=%.0fM", j->name.c_str(), j->stopped ? "(stopped)" : "",
                                    double(j->reported_rss) / kMiB);
                std::printf("\n");
            }
            break;
        }
        if (snapshots && last && std::fmod(t, 0.5) < kStepS / 2) {  // every job's RSS and growth
            std::printf("%7.2f headroom %4.0fM:", t, (limit - used) / kMiB);
            for (SimJob* j : order)
                if (j->phase == SimJob::Active)
                    if (const Job* tj = tree.job(j->id))
                        std::printf(" %s%s=%.0fM+%.0f/s", j->name.c_str(), j->stopped ? "(S)" : "",
                                    double(tj->rss) / kMiB, tj->growth / kMiB);
            std::printf("\n");
        }
        if (!use_policy) continue;
        MemoryView mem;
        mem.headroom = int64_t(limit - used - file_resident);
        mem.scale = uint64_t(limit);
        mem.source = "sim";
        // What the controller measures: each running job's share, once it
        // has run for a sample (200 ms); before, the policy counts it as one.
        std::map<uint64_t, double> cpu_use;
        for (SimJob* j : order)
            if (j->phase == SimJob::Active && !j->stopped && t - j->started_s >= 0.2) cpu_use[j->id] = share * speed;
        engine.decide({now, false, mem, {}, cpu_use}, [&](const Action& a, const Job&) {
            SimJob* j = by_id.count(a.job) ? by_id[a.job] : nullptr;
            if (!j) return false;
            j->stopped = a.type != ActionType::Resume;
            (a.type == ActionType::Stop ? stops : a.type == ActionType::Hold ? holds : resumes)++;
            if (verbose && last)
                std::printf("%7.2f %-6s %-10s rss %4.0fM  %s\n", t, action_name(a.type), j->name.c_str(),
                            double(j->reported_rss) / kMiB, a.reason.c_str());
            return true;
        });
    }
    double lb = lower_bound(jobs, cores, limit_mib);
    if (!last) {
        std::printf("first run (reactive, fills the history): wall_s=%.1f ratio=%.3f ooms=%d%s\n", t, t / lb, ooms,
                    hung ? " hung" : "");
        continue;
    }
    std::printf("wall_s=%.1f lb_s=%.1f ratio=%.3f ooms=%d stops=%d holds=%d resumes=%d utilisation=%.3f thrash_s=%.1f\n",
                t, lb, t / lb, ooms, stops, holds, resumes, t > 0 ? busy / (cores * t) : 0, thrash_s);
    if (hung) {
        std::fprintf(stderr, "fakebuild_sim: hung: not done after %.0f s, 20 times the lower bound\n", t);
        return 1;
    }
    if (max_ratio > 0 && t / lb > max_ratio) {
        std::fprintf(stderr, "fakebuild_sim: ratio %.3f is above --max-ratio %.3f\n", t / lb, max_ratio);
        return 1;
    }
    if (expect_oom) return ooms ? 0 : (std::fprintf(stderr, "fakebuild_sim: no OOM kill, one was expected\n"), 1);
    return ooms ? 1 : 0;
    }
    return 0;
}
