// Fault injection under a memory limit small enough that swamp-bpf stops jobs:
// jobs and build roots killed with SIGKILL, Ctrl-C to the build's process
// group, make -> cmake -> ninja nesting, and a configure-like fork storm. In
// every test the build ends as it would without swamp-bpf, and afterwards no
// process of the build is stopped and no cgroup of swamp-bpf's is frozen.
//
// Each build runs in its own temp dir, in a memory cgroup (scripts/memcg-run.sh),
// under `reaper` (tests/workloads/reaper.cpp), a child subreaper: jobs orphaned
// by a dead make are re-parented to it, and it reports how each one ended. Every
// process of a build inherits an environment marker, so the checks and the
// clean-up see exactly that build's processes and nothing else on the machine.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include "run_util.hpp"

using namespace swamp::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The complete lines of a JSON-lines file that may still be being written.
std::vector<json> read_jsonl(const fs::path& p) {
    std::vector<json> out;
    std::istringstream in(slurp(p));
    for (std::string line; std::getline(in, line);) {
        json j = json::parse(line, nullptr, false);
        if (!j.is_discarded()) out.push_back(std::move(j));
    }
    return out;
}

std::vector<std::string> cmdline(pid_t pid) {
    std::vector<std::string> args;
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
    for (std::string a; std::getline(in, a, '\0');) args.push_back(a);
    return args;
}

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// One fake compile: hog grows to `mib` MiB, linearly over `cpu_s` s of CPU.
struct Step {
    std::string name;
    int mib;
    double cpu_s;
};

// A Makefile of independent steps, $(OUT)/NAME each. By default make execs hog
// directly (one process a job). With `trap_shell` each recipe is a shell that
// cleans up after itself when interrupted, as real recipes do: the job is the
// shell and hog, and the clean-up forks new processes into the job. It takes a
// moment (sleep 0.2), as removing a real build tree does, so that whatever
// happens to a process joining the job has time to happen.
std::string makefile(const std::vector<Step>& steps, bool trap_shell = false) {
    std::string all = "all:", rules;
    for (const Step& s : steps) {
        all += " $(OUT)/" + s.name;
        std::string hog = "$(HOG) --mib " + std::to_string(s.mib) + " --cpu-s " + std::to_string(s.cpu_s) + " --out $@";
        rules += "$(OUT)/" + s.name + ":\n\t";
        rules += trap_shell ? "trap 'sleep 0.2; rm -f $@.lock; exit 130' INT TERM; : >$@.lock; " + hog + "; rm -f $@.lock\n" : hog + "\n";
    }
    return all + "\n\n" + rules + "\n.PHONY: all\n";
}

// swamp-bpf's summary line.
struct Summary {
    bool found = false;
    std::string how;  // "command exited with status N" or "build root exited"
    int jobs = -1, stops = -1, holds = -1, oom_kills = -1;
};

Summary summary_of(const std::string& log) {
    Summary s;
    std::smatch m;
    static const std::regex re(
        "swamp-bpf: (.*) in [0-9.]+ s: ([0-9]+) jobs, ([0-9]+) stops, ([0-9]+) holds at exec, [0-9]+ resumes.*OOM kills "
        "([0-9]+)");
    if (!std::regex_search(log, m, re)) return s;
    s.found = true;
    s.how = m[1];
    s.jobs = std::stoi(m[2]);
    s.stops = std::stoi(m[3]);
    s.holds = std::stoi(m[4]);
    s.oom_kills = std::stoi(m[5]);
    return s;
}

// How reaper saw each process end ("exited N" / "killed by signal N").
struct ReaperReport {
    std::string command;                   // how the command ended
    std::map<pid_t, std::string> orphans;  // pid -> how it ended
    std::vector<std::string> left;         // still alive after the grace time: "PID COMM state S"
};

ReaperReport reaper_report(const fs::path& file) {
    ReaperReport r;
    std::istringstream in(slurp(file));
    std::smatch m;
    static const std::regex command("^reaper: command [0-9]+ (.*)$"), orphan("^reaper: orphan ([0-9]+) \\S+ (.*)$"),
        left("^reaper: left (.*)$");
    for (std::string line; std::getline(in, line);) {
        if (std::regex_match(line, m, command)) r.command = m[1];
        else if (std::regex_match(line, m, orphan)) r.orphans[pid_t(std::stoi(m[1]))] = m[2];
        else if (std::regex_match(line, m, left)) r.left.push_back(m[1]);
    }
    return r;
}

// One build of one test: its temp dir, its processes, and their clean-up.
class FaultBuild {
public:
    explicit FaultBuild(const std::string& tag) {
        std::string tmpl = (fs::temp_directory_path() / ("swamp-faults-" + tag + "-XXXXXX")).string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        dir = tmpl;
        out = dir / "out";
        trace = dir / "trace.jsonl";
        log = dir / "build.log";
        fs::create_directories(out);
        marker = "SWAMP_FAULT_TEST=" + dir.string();
    }
    ~FaultBuild() {
        kill_all();
        std::error_code ec;
        fs::remove_all(dir, ec);
    }

    fs::path dir, out, trace, log;
    std::string marker;  // an environment entry every process of this build has
    pid_t swamp = 0;     // swamp-bpf's pid, once found

    void write(const std::string& name, const std::string& text) const { std::ofstream(dir / name) << text; }

    // CMD in a memory cgroup of `limit`, under reaper; all output to `log`.
    void start(const std::string& limit, const std::vector<std::string>& cmd, double grace_s = 60) {
        std::vector<std::string> argv{std::string(SOURCE_DIR) + "/scripts/memcg-run.sh",
                                      "--limit",
                                      limit,
                                      "--name",
                                      "faults",
                                      "--",
                                      REAPER_BIN,
                                      "--grace",
                                      std::to_string(grace_s),
                                      "--report",
                                      (dir / "reaper.log").string(),
                                      "--"};
        top_ = launch(argv + cmd, log);
    }
    // A process beside the build (swamp-bpf --root-pid), with the marker too.
    pid_t start_beside(const std::vector<std::string>& cmd, const fs::path& log_file) {
        side_.push_back(launch(cmd, log_file));
        return side_.back().pid;
    }

    // The build's wait status; -1 if it still runs after `seconds` (the
    // destructor kills it).
    int wait(double seconds) {
        int status = -1;
        if (!wait_until([&] { return waitpid(top_.pid, &status, WNOHANG) == top_.pid; }, seconds)) return -1;
        top_.pid = -1;
        return status;
    }
    // Wait status of a process started with start_beside(); -1 after `seconds`.
    int wait_beside(pid_t pid, double seconds) {
        int status = -1;
        bool done = wait_until([&] { return waitpid(pid, &status, WNOHANG) == pid; }, seconds);
        if (!done) return -1;
        for (auto& c : side_)
            if (c.pid == pid) c.pid = -1;
        return status;
    }

    // This build's live processes (zombies excluded), optionally only those named `comm`.
    std::vector<ProcInfo> procs(const std::string& comm = "") const {
        std::vector<ProcInfo> out;
        for (const ProcInfo& p : processes())
            if (p.state != 'Z' && (comm.empty() || p.comm == comm) && has_env(p.pid, marker)) out.push_back(p);
        return out;
    }
    pid_t find(const std::string& comm) {
        auto ps = procs(comm);
        pid_t pid = ps.empty() ? 0 : ps.front().pid;
        if (comm == "swamp-bpf" && pid) {
            // the controller, not its watchdog (a child of it, in its own session)
            for (const auto& p : ps)
                if (std::none_of(ps.begin(), ps.end(), [&](const ProcInfo& q) { return q.pid == p.ppid; })) pid = p.pid;
            swamp = pid;
        }
        return pid;
    }
    std::vector<std::string> stopped() const { return stopped_build_processes(marker); }

    // What the trace shows so far.
    std::vector<json> events() const { return read_jsonl(trace); }
    std::vector<json> decisions(const std::set<std::string>& actions = {"stop", "hold"}) const {
        std::vector<json> out;
        for (const json& j : events())
            if (j.value("event", "") == "decision" && actions.count(j.value("action", ""))) out.push_back(j);
        return out;
    }
    ReaperReport reaper() const { return reaper_report(dir / "reaper.log"); }
    std::string text(const fs::path& file) const { return slurp(file); }

    // Nothing of this build is stopped, and swamp-bpf left no cgroup behind.
    void expect_nothing_left(const std::string& when) const {
        EXPECT_EQ(stopped(), std::vector<std::string>{}) << when << ": a process of the build is stopped";
        if (swamp) {
            EXPECT_EQ(frozen_cgroups(swamp), std::vector<std::string>{}) << when << ": a job cgroup is frozen";
            EXPECT_EQ(leftover_cgroups(swamp), std::vector<std::string>{}) << when << ": a swamp-bpf cgroup is left";
        }
    }

private:
    Child launch(const std::vector<std::string>& cmd, const fs::path& log_file) {
        std::vector<std::string> argv{"/usr/bin/env", marker, "/bin/sh", "-c", "exec \"$@\" >\"$0\" 2>&1",
                                      log_file.string()};
        Child c = spawn(argv + cmd);
        close(c.out_fd);  // all output goes to log_file
        c.out_fd = -1;
        return c;
    }

    // Ends whatever still runs: memcg-run first (it removes its cgroup), then
    // anything else with our marker; thaws what swamp-bpf may have frozen.
    void kill_all() {
        if (top_.pid > 0) {
            kill(top_.pid, SIGTERM);
            int status;
            if (!wait_until([&] { return waitpid(top_.pid, &status, WNOHANG) == top_.pid; }, 15)) {
                kill(top_.pid, SIGKILL);
                waitpid(top_.pid, &status, 0);
            }
            top_.pid = -1;
        }
        for (int pass = 0; pass < 3; pass++)
            for (const ProcInfo& p : procs()) {
                kill(p.pid, SIGKILL);
                kill(p.pid, SIGCONT);
            }
        if (swamp)
            for (const auto& cg : frozen_cgroups(swamp)) std::ofstream(cg + "/cgroup.freeze") << "0";
        for (auto& c : side_)
            if (c.pid > 0) {
                waitpid(c.pid, nullptr, 0);
                c.pid = -1;
            }
    }

    Child top_;
    std::vector<Child> side_;
};

std::vector<std::string> swamp_cmd(const FaultBuild& b, const std::vector<std::string>& args = {}) {
    return std::vector<std::string>{SWAMP_BIN, "--no-history", "--trace-json", "--trace-output", b.trace.string()} + args;
}

std::vector<std::string> make_cmd(const FaultBuild& b, const std::vector<std::string>& args) {
    return std::vector<std::string>{"/usr/bin/make", "-s", "-f", (b.dir / "Makefile").string(),
                                    std::string("HOG=") + HOG_BIN, "OUT=" + b.out.string()} +
           args;
}

int oom_kills(const std::string& log) {
    std::smatch m;
    return std::regex_search(log, m, std::regex("oom_kills=([0-9]+)")) ? std::stoi(m[1]) : -1;
}

// The exit event of `pid` in the trace (null if none).
json exit_of(const std::vector<json>& events, pid_t pid) {
    for (const json& j : events)
        if (j.value("event", "") == "exit" && j["pid"] == pid) return j;
    return json();
}

bool alive(pid_t pid) {
    auto ps = processes();
    return std::any_of(ps.begin(), ps.end(), [&](const ProcInfo& p) { return p.pid == pid && p.state != 'Z'; });
}

// `hog`s of the build, as pid -> the target it writes (its --out).
std::map<pid_t, std::string> hog_targets(const std::vector<ProcInfo>& hogs) {
    std::map<pid_t, std::string> out;
    for (const ProcInfo& p : hogs) {
        auto args = cmdline(p.pid);
        auto it = std::find(args.begin(), args.end(), "--out");
        if (it != args.end() && it + 1 != args.end()) out[p.pid] = fs::path(*(it + 1)).filename();
    }
    return out;
}

std::string describe(const std::vector<ProcInfo>& ps) {
    std::string s;
    for (const auto& p : ps) s += std::to_string(p.pid) + "(" + p.comm + ":" + p.state + ") ";
    return s;
}

// How the build ended, by every witness: its exit status as a shell reports
// it (`code`: N, or 128 + signal), make's own end in the trace, swamp-bpf's
// summary (and, attached with --root-pid, its exit status 0), memcg-run's OOM
// count. swamp-bpf must also have stopped or held a job, or the test proved nothing.
void expect_build_ended(const FaultBuild& b, int status, pid_t make, int code, const fs::path& swamp_log,
                        std::optional<int> attached_swamp_status = std::nullopt) {
    std::string log = b.text(b.log), slog = b.text(swamp_log);
    std::cout << log << (swamp_log != b.log ? slog : "");
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == code) << "wait status " << status << ", want " << code;
    json make_exit = exit_of(b.events(), make);
    EXPECT_FALSE(make_exit.is_null()) << "no exit of make " << make << " in the trace";
    if (!make_exit.is_null()) {
        EXPECT_EQ(make_exit["signal"], code > 128 ? code - 128 : 0) << make_exit.dump();
        if (code < 128) {
            EXPECT_EQ(make_exit["exit_code"], code) << make_exit.dump();
        }
    }
    Summary sum = summary_of(slog);
    EXPECT_TRUE(sum.found) << "no summary line from swamp-bpf";
    EXPECT_GE(sum.stops + sum.holds, 1) << "swamp-bpf stopped nothing";
    if (attached_swamp_status) {
        EXPECT_EQ(sum.how, "build root exited");
        EXPECT_TRUE(WIFEXITED(*attached_swamp_status) && WEXITSTATUS(*attached_swamp_status) == 0)
            << "swamp-bpf's wait status " << *attached_swamp_status;
    } else {
        EXPECT_EQ(sum.how, "command exited with status " + std::to_string(code)) << "swamp-bpf exits with make's status";
    }
    EXPECT_EQ(sum.oom_kills, 0);
    EXPECT_EQ(oom_kills(log), 0);
}

// Eight independent steps, -j4: any two fit in the limit, three do not, so
// swamp-bpf must stop jobs whatever the machine's speed (on a busy machine the
// jobs grow slowly and a mere projection might not bind).
const std::vector<Step> kSteps{{"a.o", 170, 1.5}, {"b.o", 190, 2.0}, {"c.o", 160, 1.5}, {"d.o", 180, 2.0},
                               {"e.o", 170, 1.5}, {"f.o", 190, 2.0}, {"g.o", 160, 1.5}, {"h.o", 180, 2.0}};
const std::string kLimit = "480M";

// For the tests where jobs outlive swamp-bpf's management (make killed, or
// swamp-bpf told to end): any four of these fit in the cgroup, so they finish
// unmanaged; --mem-budget makes swamp-bpf stop jobs (three do not fit in it).
const std::vector<Step> kOrphanSteps{{"a.o", 120, 2.0}, {"b.o", 140, 2.5}, {"c.o", 110, 2.0}, {"d.o", 130, 2.5},
                                     {"e.o", 120, 2.0}, {"f.o", 140, 2.5}, {"g.o", 110, 2.0}, {"h.o", 130, 2.5}};
const std::string kOrphanLimit = "700M", kBudget = "300M";

bool have_cgroup2() {
    return fs::exists("/sys/fs/cgroup/unified/cgroup.controllers") || fs::exists("/sys/fs/cgroup/cgroup.controllers");
}

// The build's processes (named `comm`) in a job swamp-bpf holds: in T state
// with `signal`, in a frozen job cgroup with `freeze`.
std::vector<ProcInfo> held(FaultBuild& b, const std::string& action, const std::string& comm) {
    std::set<pid_t> frozen;
    if (action == "freeze") {
        if (!b.swamp) b.find("swamp-bpf");
        for (const auto& cg : frozen_cgroups(b.swamp)) {
            std::ifstream in(cg + "/cgroup.procs");
            for (pid_t pid; in >> pid;) frozen.insert(pid);
        }
    }
    std::vector<ProcInfo> out;
    for (const auto& p : b.procs(comm))
        if (action == "freeze" ? frozen.count(p.pid) > 0 : p.state == 'T') out.push_back(p);
    return out;
}

// Waits until swamp-bpf has decided to stop a job and a process named `comm` is held.
bool wait_held(FaultBuild& b, const std::string& action, const std::string& comm) {
    return wait_until([&] { return !b.decisions().empty() && !held(b, action, comm).empty(); }, 60);
}

// The build under swamp-bpf: "launched", `PREFIX swamp-bpf ARGS -- MAKE` in the
// cgroup; or "attached", `PREFIX MAKE` in the cgroup and `swamp-bpf ARGS
// --root-pid` beside it (`beside` is then its pid, else 0). Returns the file
// with swamp-bpf's output, empty if make never appeared.
fs::path start_managed(FaultBuild& b, bool attached, const std::string& limit, const std::vector<std::string>& swamp,
                       const std::vector<std::string>& make, pid_t& beside,
                       const std::vector<std::string>& prefix = {}) {
    beside = 0;
    if (!attached) {
        b.start(limit, prefix + swamp + std::vector<std::string>{"--"} + make);
        return b.log;
    }
    b.start(limit, prefix + make);
    pid_t pid = 0;
    if (!wait_until([&] { return (pid = b.find("make")) > 0; }, 10)) return {};
    beside = b.start_beside(swamp + std::vector<std::string>{"--root-pid", std::to_string(pid)}, b.dir / "swamp.log");
    return b.dir / "swamp.log";
}

class FaultTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (std::string why = missing_root_or_memcg(); !why.empty()) GTEST_SKIP() << why;
    }
};

// Parameter: the actuator.
class FaultActuatorTest : public FaultTest, public ::testing::WithParamInterface<const char*> {
protected:
    void SetUp() override {
        FaultTest::SetUp();
        if (!IsSkipped() && std::string(GetParam()) == "freeze" && !have_cgroup2()) GTEST_SKIP() << "no cgroup v2";
    }
};

// Parameters: "attached" (swamp-bpf --root-pid adopts a running make) or
// "launched" (swamp-bpf -- make); the actuator.
class FaultModeTest : public FaultTest, public ::testing::WithParamInterface<std::tuple<const char*, const char*>> {
protected:
    void SetUp() override {
        FaultTest::SetUp();
        if (!IsSkipped() && action() == "freeze" && !have_cgroup2()) GTEST_SKIP() << "no cgroup v2";
    }
    bool attached() const { return std::string(std::get<0>(GetParam())) == "attached"; }
    std::string action() const { return std::get<1>(GetParam()); }
    std::string tag() const { return std::string(std::get<0>(GetParam())) + "-" + action(); }
};

std::string mode_name(const ::testing::TestParamInfo<std::tuple<const char*, const char*>>& info) {
    return std::string(std::get<0>(info.param)) + "_" + std::get<1>(info.param);
}

// 1. kill -9 of jobs, stopped ones and running ones, while swamp-bpf holds
//    some: `make -k` goes on with the rest and fails in the end, and swamp-bpf
//    exits with make's status.
TEST_P(FaultActuatorTest, KilledJobsEndTheBuildAsMakeKSays) {
    const std::string action = GetParam();
    FaultBuild b("killjobs-" + action);
    b.write("Makefile", makefile(kSteps));
    b.start(kLimit, swamp_cmd(b, {"--action", action, "--"}) + make_cmd(b, {"-k", "-j4"}));
    ASSERT_TRUE(wait_held(b, action, "hog")) << "swamp-bpf never stopped a job\n" << b.text(b.log);
    pid_t make = b.find("make");

    unsigned seed = std::random_device{}();
    std::mt19937 rng(seed);
    std::set<std::string> killed;  // targets whose hog was killed
    auto held_unkilled = [&] {
        auto h = hog_targets(held(b, action, "hog"));
        return std::any_of(h.begin(), h.end(), [&](const auto& t) { return !killed.count(t.second); });
    };
    for (int round = 0; round < 2 && (round == 0 || wait_until(held_unkilled, 10)); round++) {
        // one held job and one running one, at random
        // one snapshot that has a held job (the policy may resume one between two looks)
        std::vector<ProcInfo> stopped;
        wait_until([&] { return !(stopped = held(b, action, "hog")).empty(); }, 10);
        std::vector<ProcInfo> running;
        for (const auto& p : b.procs("hog"))
            if (std::none_of(stopped.begin(), stopped.end(), [&](const ProcInfo& q) { return q.pid == p.pid; }))
                running.push_back(p);
        ASSERT_FALSE(stopped.empty());
        std::vector<ProcInfo> victims{stopped[rng() % stopped.size()]};
        if (!running.empty()) victims.push_back(running[rng() % running.size()]);
        auto targets = hog_targets(victims);
        for (const auto& v : victims) {
            ASSERT_EQ(kill(v.pid, SIGKILL), 0);
            killed.insert(targets[v.pid]);
        }
        std::cout << "round " << round << " (seed " << seed << "): killed " << describe(victims) << "(first held)\n";
    }

    int status = b.wait(180);
    ASSERT_NE(status, -1) << "the build did not end in 180 s: " << describe(b.procs()) << '\n' << b.text(b.log);
    expect_build_ended(b, status, make, 2, b.log);  // make -k fails when a job failed
    for (const Step& s : kSteps)
        EXPECT_EQ(fs::exists(b.out / s.name), !killed.count(s.name))
            << s.name << (killed.count(s.name) ? " was killed" : " was not killed, so make -k built it");
    auto reaper = b.reaper();
    EXPECT_EQ(reaper.command, "exited 2");
    EXPECT_EQ(reaper.left, std::vector<std::string>{});
    b.expect_nothing_left("after the build");
}

INSTANTIATE_TEST_SUITE_P(Faults, FaultActuatorTest, ::testing::Values("signal", "freeze"),
                         [](const auto& info) { return std::string(info.param); });

class FaultKillRootTest : public FaultModeTest {};

// 2. kill -9 of make while jobs are held: swamp-bpf resumes them as it exits,
//    and the orphans finish as they would have without swamp-bpf.
TEST_P(FaultKillRootTest, OrphanedJobsFinish) {
    FaultBuild b("killroot-" + tag());
    b.write("Makefile", makefile(kOrphanSteps));
    pid_t beside = 0;
    fs::path swamp_log = start_managed(b, attached(), kOrphanLimit,
                                       swamp_cmd(b, {"--action", action(), "--mem-budget", kBudget}),
                                       make_cmd(b, {"-j4"}), beside);
    ASSERT_FALSE(swamp_log.empty()) << "make never started\n" << b.text(b.log);
    ASSERT_TRUE(wait_held(b, action(), "hog")) << "swamp-bpf never stopped a job\n" << b.text(swamp_log);
    pid_t make = b.find("make");
    ASSERT_GT(b.find("swamp-bpf"), 0);
    if (attached()) {
        ASSERT_EQ(b.swamp, beside);
    }

    auto hogs = b.procs("hog");
    auto targets = hog_targets(hogs);
    std::cout << "killing make " << make << " with jobs " << describe(hogs) << "of which held "
              << describe(held(b, action(), "hog")) << '\n';
    ASSERT_EQ(kill(make, SIGKILL), 0);

    // swamp-bpf ends with its build root; what it held runs again at once
    std::optional<int> swamp_status;
    if (attached()) {
        swamp_status = b.wait_beside(beside, 15);
        ASSERT_NE(*swamp_status, -1) << "swamp-bpf did not exit when its build root died";
    } else {
        ASSERT_TRUE(wait_until([&] { return !alive(b.swamp); }, 15)) << "swamp-bpf did not exit when make died";
    }
    auto orphans = b.procs("hog");
    ASSERT_FALSE(orphans.empty()) << "no orphan was left to check";
    std::cout << "right after swamp-bpf exited: " << describe(orphans) << '\n';
    b.expect_nothing_left("right after swamp-bpf exited");

    int status = b.wait(120);
    ASSERT_NE(status, -1) << "the orphans did not finish in 120 s: " << describe(b.procs()) << '\n' << b.text(b.log);
    expect_build_ended(b, status, make, 128 + SIGKILL, swamp_log, swamp_status);

    // every job that ran or waited when make died finished, and wrote its output
    auto reaper = b.reaper();
    EXPECT_EQ(reaper.command, attached() ? "killed by signal 9" : "exited 137");
    EXPECT_EQ(reaper.left, std::vector<std::string>{});
    for (auto [pid, target] : targets) {
        EXPECT_EQ(reaper.orphans[pid], "exited 0") << "orphaned job " << pid << " (" << target << ")";
        EXPECT_TRUE(fs::exists(b.out / target)) << target;
    }
    b.expect_nothing_left("after the build");
}

const auto kModes = ::testing::Combine(::testing::Values("attached", "launched"), ::testing::Values("signal", "freeze"));
INSTANTIATE_TEST_SUITE_P(Faults, FaultKillRootTest, kModes, mode_name);

// Nothing the traps of interrupted recipes should remove is left, and make
// reaped every job itself before it died (as it does after one signal; a
// second one makes it quit at once and orphan them).
void expect_jobs_cleaned_up(const FaultBuild& b) {
    for (const auto& e : fs::directory_iterator(b.out))
        EXPECT_NE(e.path().extension(), ".lock") << e.path() << ": the recipe's trap did not run";
    auto reaper = b.reaper();
    EXPECT_TRUE(reaper.orphans.empty()) << "make died before it had reaped its jobs, orphaning "
                                        << reaper.orphans.size() << " of them:\n" << b.text(b.dir / "reaper.log");
    EXPECT_EQ(reaper.left, std::vector<std::string>{});
}

class FaultInterruptTest : public FaultModeTest {};

// 3. Ctrl-C: SIGINT to the build's whole process group (its own, by setsid)
//    while jobs are held. Each recipe is a shell with an INT trap that runs a
//    clean-up command; a held job gets the signal too. make ends as
//    interrupted, every trap has cleaned up, and nothing stays held.
TEST_P(FaultInterruptTest, CtrlCEndsTheBuildAndLeavesNothingStopped) {
    FaultBuild b("ctrlc-" + tag());
    b.write("Makefile", makefile(kSteps, true));
    // attached: the group is make's, swamp-bpf runs outside it; launched:
    // swamp-bpf is in it, as in an interactive shell's foreground job
    pid_t beside = 0;
    fs::path swamp_log = start_managed(b, attached(), kLimit, swamp_cmd(b, {"--action", action()}),
                                       make_cmd(b, {"-j4"}), beside, {"/usr/bin/setsid"});
    ASSERT_FALSE(swamp_log.empty()) << "make never started\n" << b.text(b.log);
    ASSERT_TRUE(wait_held(b, action(), "sh")) << "swamp-bpf never stopped a job\n" << b.text(swamp_log);
    pid_t make = b.find("make");
    ASSERT_GT(b.find("swamp-bpf"), 0);
    pid_t pgid = 0;
    for (const auto& p : b.procs("make")) pgid = p.pgrp;
    ASSERT_EQ(pgid, attached() ? make : b.swamp) << "the build runs in its own process group";
    ASSERT_NE(pgid, getpgrp());

    std::cout << "SIGINT to group " << pgid << ": " << describe(b.procs()) << '\n';
    ASSERT_EQ(kill(-pgid, SIGINT), 0);
    int status = b.wait(60);
    ASSERT_NE(status, -1) << "the build still runs 60 s after Ctrl-C: " << describe(b.procs()) << '\n'
                          << b.text(swamp_log);
    std::optional<int> swamp_status;
    if (attached()) swamp_status = b.wait_beside(beside, 15);
    expect_build_ended(b, status, make, 128 + SIGINT, swamp_log, swamp_status);
    expect_jobs_cleaned_up(b);
    b.expect_nothing_left("after the build");
}

INSTANTIATE_TEST_SUITE_P(Faults, FaultInterruptTest, kModes, mode_name);

// SIGTERM to swamp-bpf alone (kill PID, a service manager) in launch mode:
// swamp-bpf resumes every job and passes the signal on to make. The build must
// end as `kill -TERM make` ends it: make signals its jobs and waits for them,
// their traps clean up (a new process in a job swamp-bpf had held), and make
// dies of SIGTERM.
TEST_P(FaultActuatorTest, SigtermToSwampBpfEndsTheBuildAsSigtermToMake) {
    const std::string action = GetParam();
    FaultBuild b("term-" + action);
    b.write("Makefile", makefile(kOrphanSteps, true));
    b.start(kOrphanLimit, swamp_cmd(b, {"--action", action, "--mem-budget", kBudget, "--"}) + make_cmd(b, {"-j4"}));
    ASSERT_TRUE(wait_held(b, action, "sh")) << "swamp-bpf never stopped a job\n" << b.text(b.log);
    pid_t make = b.find("make");
    ASSERT_GT(b.find("swamp-bpf"), 0);

    std::cout << "SIGTERM to swamp-bpf " << b.swamp << ": " << describe(b.procs()) << '\n';
    ASSERT_EQ(kill(b.swamp, SIGTERM), 0);
    int status = b.wait(45);
    ASSERT_NE(status, -1) << "the build still runs 45 s after SIGTERM: " << describe(b.procs())
                          << "\nfrozen job cgroups: " << frozen_cgroups(b.swamp).size() << '\n'
                          << b.text(b.log);
    expect_build_ended(b, status, make, 128 + SIGTERM, b.log);
    expect_jobs_cleaned_up(b);
    b.expect_nothing_left("after the build");
}

// The parent of each process, from the trace's fork and exec events.
std::map<uint32_t, uint32_t> parents(const std::vector<json>& events) {
    std::map<uint32_t, uint32_t> out;
    for (const json& j : events)
        if ((j.value("event", "") == "fork" && !j.value("thread", false)) || j.value("event", "") == "exec")
            out[j["pid"]] = j["ppid"];
    return out;
}

// 4. Nested drivers: make runs cmake, which generates a Ninja project and runs
//    ninja; ninja runs the compile steps (hog, through sh -c). Jobs must form
//    under ninja, one per compile step, not one giant job under make or cmake.
TEST_F(FaultTest, NestedMakeCmakeNinjaFormsJobsUnderNinja) {
    if (!fs::exists("/usr/bin/ninja") || !fs::exists("/usr/bin/cmake")) GTEST_SKIP() << "needs ninja and cmake";
    FaultBuild b("nested");
    fs::path src = b.dir / "src", bld = b.dir / "bld";
    fs::create_directories(src);
    std::string project = "cmake_minimum_required(VERSION 3.20)\nproject(nested NONE)\n";
    std::string objects;
    for (const Step& s : kSteps) {
        project += "add_custom_command(OUTPUT " + s.name + " COMMAND " + HOG_BIN + " --mib " + std::to_string(s.mib) +
                   " --cpu-s " + std::to_string(s.cpu_s) + " --out " + s.name + ")\n";
        objects += " " + s.name;
    }
    project += "add_custom_target(objects ALL DEPENDS" + objects + ")\n";
    b.write("src/CMakeLists.txt", project);
    b.write("Makefile", "all:\n\tcmake -S " + src.string() + " -B " + bld.string() + " -G Ninja\n\tcmake --build " +
                            bld.string() + " -j 4\n");
    b.start(kLimit, swamp_cmd(b, {"--"}) + std::vector<std::string>{"/usr/bin/make", "-s", "-f", (b.dir / "Makefile").string()});
    int status = b.wait(240);
    ASSERT_NE(status, -1) << "the build did not end in 240 s: " << describe(b.procs()) << '\n' << b.text(b.log);
    std::string log = b.text(b.log);
    std::cout << log;
    ASSERT_TRUE(WIFEXITED(status)) << log;
    EXPECT_EQ(WEXITSTATUS(status), 0) << log;
    EXPECT_EQ(oom_kills(log), 0) << log;
    for (const Step& s : kSteps) EXPECT_TRUE(fs::exists(bld / s.name)) << s.name;
    Summary sum = summary_of(log);
    ASSERT_TRUE(sum.found) << log;
    EXPECT_EQ(sum.how, "command exited with status 0");
    EXPECT_GE(sum.stops + sum.holds, 1) << "swamp-bpf stopped nothing";
    EXPECT_GE(sum.jobs, int(kSteps.size())) << "one job per compile step at least";

    // Every stop or hold was of one compile step, a job whose root ninja started.
    auto events = b.events();
    auto parent = parents(events);
    std::map<uint32_t, std::string> comm;  // what each pid exec'd last
    std::map<uint32_t, std::string> argv;  // all its exec'd command lines
    for (const json& j : events)
        if (j.value("event", "") == "exec") {
            comm[j["pid"]] = j["comm"];
            for (const auto& a : j["argv"]) argv[j["pid"]] += a.get<std::string>() + " ";
        }
    std::set<uint64_t> jobs;
    std::set<std::string> steps;
    for (const json& d : b.decisions()) {
        uint32_t root = d["pid"];
        SCOPED_TRACE(d.dump());
        // Named after what it runs, or, when it was held at its wrapper shell's
        // exec before the shell started anything (the decision can come that
        // early), after the shell with the target its command line makes.
        const std::string name = d["comm"], target = d.value("target", "");
        bool step_target = std::any_of(kSteps.begin(), kSteps.end(), [&](const Step& s) { return s.name == target; });
        EXPECT_TRUE(name == "hog" || (name == "sh" && d["action"] == "hold" && step_target))
            << "the job is named after what it runs, or held as its shell making a step";
        EXPECT_EQ(comm[parent[root]], "ninja") << "the job's root was started by ninja";
        int matches = 0;
        for (const Step& s : kSteps)
            if (argv[root].find("--out " + s.name + " ") != std::string::npos) {
                matches++;
                steps.insert(s.name);
            }
        EXPECT_EQ(matches, 1) << "the job is one compile step: " << argv[root];
        jobs.insert(d["job"].get<uint64_t>());
    }
    std::cout << "stopped or held: " << jobs.size() << " jobs, compile steps";
    for (const auto& s : steps) std::cout << ' ' << s;
    std::cout << '\n';
    EXPECT_EQ(jobs.size(), steps.size());
    EXPECT_EQ(b.reaper().left, std::vector<std::string>{});
    b.expect_nothing_left("after the build");
}

// fork_storm's report line.
struct Storm {
    bool found = false;
    uint32_t pid = 0;
    long started = 0, ok = 0, failed = 0;
    double elapsed_s = 0, rate = 0;
};

Storm storm_report(const std::string& text) {
    Storm r;
    std::smatch m;
    static const std::regex re(
        "fork_storm pid=([0-9]+) started=([0-9]+) ok=([0-9]+) failed=([0-9]+) elapsed_s=([0-9.]+) rate=([0-9]+)");
    if (!std::regex_search(text, m, re)) return r;
    r.found = true;
    r.pid = std::stoul(m[1]);
    r.started = std::stol(m[2]);
    r.ok = std::stol(m[3]);
    r.failed = std::stol(m[4]);
    r.elapsed_s = std::stod(m[5]);
    r.rate = std::stod(m[6]);
    return r;
}

// What the trace saw of the storm's children, and whether it lost events.
struct StormSeen {
    long forks = 0, execs = 0, exits = 0, exits_ok = 0, drops = 0;
};

StormSeen storm_seen(const std::vector<json>& events, uint32_t storm_pid) {
    StormSeen s;
    for (const json& j : events) {
        std::string ev = j.value("event", "");
        if (ev == "drops") s.drops = std::max<long>(s.drops, j["dropped"].get<long>());
        if (j.value("ppid", 0u) != storm_pid) continue;
        if (ev == "fork" && !j.value("thread", false)) s.forks++;
        if (ev == "exec" && j["filename"] == STORM_TRUE_BIN) s.execs++;
        if (ev == "exit") {
            s.exits++;
            if (j["wait_status"] == 0) s.exits_ok++;
        }
    }
    return s;
}

constexpr double kStormRate = 2500, kStormSeconds = 10;

std::vector<std::string> storm_cmd(const fs::path& report) {
    return {FORK_STORM_BIN, "--rate", std::to_string(int(kStormRate)), "--seconds", std::to_string(int(kStormSeconds)),
            "--helper", STORM_TRUE_BIN, "--report", report.string()};
}

// Every child the storm started is seen forking, exec'ing and exiting, and
// nothing was dropped. The rate the machine reached is printed, not asserted:
// a slow machine makes a gentler storm, not a failure.
void expect_storm_tracked(const char* how, const Storm& storm, const StormSeen& seen) {
    std::printf("fork storm %s: %ld processes in %.2f s = %.0f/s; tracked: %ld forks, %ld execs, %ld exits (%ld with "
                "status 0); lost: %ld; ring-buffer drops: %ld\n",
                how, storm.started, storm.elapsed_s, storm.rate, seen.forks, seen.execs, seen.exits, seen.exits_ok,
                storm.started - std::min({seen.forks, seen.execs, seen.exits}), seen.drops);
    std::fflush(stdout);
    EXPECT_EQ(storm.started, long(kStormRate * kStormSeconds));
    EXPECT_EQ(storm.ok, storm.started);
    EXPECT_EQ(seen.forks, storm.started);
    EXPECT_EQ(seen.execs, storm.started);
    EXPECT_EQ(seen.exits, storm.started);
    EXPECT_EQ(seen.exits_ok, storm.started);
    EXPECT_EQ(seen.drops, 0);
}

// 5. A configure-like fork storm, 2500 short processes a second for 10 s,
//    first under `swamp-bpf trace`, then as one job of a make -j4 under the
//    controller beside hogs it has to stop. No task may be lost.
TEST_F(FaultTest, ForkStormLosesNoTask) {
    {
        FaultBuild b("storm-trace");
        fs::path report = b.dir / "storm.txt";
        b.start("256M", std::vector<std::string>{SWAMP_BIN, "trace", "--json", "-o", b.trace.string(), "--"} +
                            storm_cmd(report));
        int status = b.wait(60);
        ASSERT_NE(status, -1) << "the storm did not end in 60 s\n" << b.text(b.log);
        std::string log = b.text(b.log);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << '\n' << log;
        EXPECT_EQ(log.find("were not tracked"), std::string::npos) << log;
        Storm storm = storm_report(b.text(report));
        ASSERT_TRUE(storm.found) << b.text(report);
        expect_storm_tracked("under swamp-bpf trace", storm, storm_seen(b.events(), storm.pid));
    }
    {
        // the storm first, so it is not held at exec; the hogs at nice 19 so
        // that they do not starve it of CPU on a small machine
        FaultBuild b("storm-controller");
        std::string mk = "all: $(OUT)/storm";
        std::string rules = "$(OUT)/storm:\n\t";
        for (const auto& a : storm_cmd("$@")) rules += a + " ";
        rules += "\n";
        for (const Step& s : kSteps) {
            mk += " $(OUT)/" + s.name;
            rules += "$(OUT)/" + s.name + ":\n\tnice -n 19 $(HOG) --mib " + std::to_string(s.mib) + " --cpu-s " +
                     std::to_string(s.cpu_s) + " --out $@\n";
        }
        b.write("Makefile", mk + "\n" + rules);
        b.start(kLimit, swamp_cmd(b, {"--"}) + make_cmd(b, {"-j4"}));
        int status = b.wait(240);
        ASSERT_NE(status, -1) << "the build did not end in 240 s: " << describe(b.procs()) << '\n' << b.text(b.log);
        std::string log = b.text(b.log);
        std::cout << log;
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
        EXPECT_EQ(oom_kills(log), 0);
        Summary sum = summary_of(log);
        ASSERT_TRUE(sum.found);
        EXPECT_EQ(sum.how, "command exited with status 0");
        EXPECT_GE(sum.stops + sum.holds, 1) << "swamp-bpf stopped nothing";
        for (const Step& s : kSteps) EXPECT_TRUE(fs::exists(b.out / s.name)) << s.name;
        Storm storm = storm_report(b.text(b.out / "storm"));
        ASSERT_TRUE(storm.found) << b.text(b.out / "storm");
        auto events = b.events();
        for (const json& d : b.decisions())
            EXPECT_NE(d["pid"], storm.pid) << "the storm's job was stopped: " << d.dump();
        expect_storm_tracked("under the controller", storm, storm_seen(events, storm.pid));
        b.expect_nothing_left("after the build");
    }
}

}  // namespace
