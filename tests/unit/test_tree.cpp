// The build model: processes -> jobs under build drivers.
#include <gtest/gtest.h>

#include <algorithm>

#include "build_sim.hpp"
#include "history/signature.hpp"
#include "tree/tree.hpp"

using namespace swamp;
using namespace swamp::test;

namespace {

constexpr uint64_t T0 = 10 * kSec;

uint64_t at(double s) { return T0 + uint64_t(s * 1e9); }

// The job a pid is in (0: none), checked against the job's own pid set.
uint64_t job_of(const Tree& t, uint32_t pid) {
    const Process* p = t.process(pid);
    if (!p) return 0;
    if (p->job) {
        const Job* j = t.job(p->job);
        EXPECT_TRUE(j) << "pid " << pid << " points at a missing job " << p->job;
        if (j) {
            EXPECT_TRUE(j->pids.count(pid)) << "job " << p->job << " does not list pid " << pid;
        }
    }
    return p->job;
}

// No job lists a driver or a pid outside it.
void expect_consistent(const Tree& t) {
    for (const auto& [id, j] : t.jobs()) {
        EXPECT_EQ(j.id, id);
        EXPECT_FALSE(j.pids.empty()) << "job " << id << " has no process";
        uint64_t rss = 0;
        for (uint32_t pid : j.pids) {
            const Process* p = t.process(pid);
            ASSERT_TRUE(p) << "job " << id << " lists unknown pid " << pid;
            EXPECT_FALSE(p->driver) << "driver " << p->comm << " (" << pid << ") is in job " << id;
            EXPECT_EQ(p->job, id);
            rss += p->rss;
        }
        EXPECT_EQ(j.rss, rss) << "job " << id;
    }
}

Tree make_root(TreeConfig cfg = {}) {
    Tree t(std::move(cfg));
    t.add_root(1, 0, "make", T0);
    return t;
}

}  // namespace

TEST(Tree, MakeForkExecGccIsOneJobRootedAtGcc) {
    Tree t = make_root();
    TreeDelta d = t.apply(fork_ev(at(0.1), 10, 1, "make"));
    ASSERT_EQ(d.new_jobs.size(), 1u);
    uint64_t id = d.new_jobs[0];
    ASSERT_EQ(d.joined.size(), 1u);
    EXPECT_EQ(d.joined[0], std::make_pair(id, uint32_t(10)));

    EXPECT_FALSE(t.job(id)->execd) << "still make's fork: what it runs is not known yet";
    d = t.apply(exec_ev(at(0.2), 10, 1, "gcc", {"gcc", "-c", "a.c", "-o", "a.o"}));
    EXPECT_TRUE(t.job(id)->execd);
    EXPECT_TRUE(d.new_jobs.empty());
    EXPECT_TRUE(d.dissolved_jobs.empty());
    const Job* j = t.job(id);
    ASSERT_TRUE(j);
    EXPECT_EQ(j->root_pid, 10u);
    EXPECT_EQ(j->name, "gcc");
    EXPECT_EQ(j->command, "gcc -c a.c -o a.o");
    EXPECT_EQ(j->state, JobState::Running);
    EXPECT_EQ(j->start_ns, at(0.1));

    // gcc runs cc1plus, then as: both join gcc's job, which keeps its name
    d = t.apply(fork_ev(at(0.3), 11, 10, "gcc"));
    EXPECT_TRUE(d.new_jobs.empty());
    ASSERT_EQ(d.joined.size(), 1u);
    EXPECT_EQ(d.joined[0], std::make_pair(id, uint32_t(11)));
    t.apply(exec_ev(at(0.31), 11, 10, "cc1plus", {"cc1plus", "-quiet", "a.c"}));
    t.apply(fork_ev(at(0.4), 12, 10, "gcc"));
    t.apply(exec_ev(at(0.41), 12, 10, "as", {"as", "-o", "a.o"}));
    // and a grandchild
    t.apply(fork_ev(at(0.5), 13, 11, "cc1plus"));

    EXPECT_EQ(t.jobs().size(), 1u);
    EXPECT_EQ(t.job_pids(id), (std::vector<uint32_t>{10, 11, 12, 13}));
    for (uint32_t pid : {10u, 11u, 12u, 13u}) EXPECT_EQ(job_of(t, pid), id) << pid;
    EXPECT_EQ(job_of(t, 1), 0u);
    EXPECT_TRUE(t.process(1)->driver);
    EXPECT_EQ(t.job(id)->name, "gcc");
    EXPECT_EQ(t.job(id)->command, "gcc -c a.c -o a.o");
    expect_consistent(t);
}

TEST(Tree, EachChildOfTheDriverIsItsOwnJob) {
    Tree t = make_root();
    uint64_t a = t.apply(fork_ev(at(0.1), 10, 1, "make")).new_jobs.at(0);
    uint64_t b = t.apply(fork_ev(at(0.2), 20, 1, "make")).new_jobs.at(0);
    EXPECT_NE(a, b);
    t.apply(exec_ev(at(0.3), 10, 1, "gcc"));
    t.apply(exec_ev(at(0.3), 20, 1, "ld"));
    EXPECT_EQ(t.job(a)->name, "gcc");
    EXPECT_EQ(t.job(b)->name, "ld");
    EXPECT_EQ(t.jobs().size(), 2u);
}

TEST(Tree, WrapperShellJobIsNamedAfterItsFirstProgram) {
    Tree t = make_root();
    uint64_t id = t.apply(fork_ev(at(0.1), 10, 1, "make")).new_jobs.at(0);
    t.apply(exec_ev(at(0.11), 10, 1, "sh", {"/bin/sh", "-c", "gcc -c a.c && strip a.o"}));
    EXPECT_EQ(t.job(id)->name, "sh");
    t.apply(fork_ev(at(0.2), 11, 10, "sh"));
    t.apply(exec_ev(at(0.21), 11, 10, "gcc", {"gcc", "-c", "a.c"}));
    t.apply(fork_ev(at(0.3), 12, 11, "gcc"));
    t.apply(exec_ev(at(0.31), 12, 11, "cc1", {"cc1", "a.c"}));
    t.apply(exit_ev(at(1.0), 12, 11, "cc1"));
    t.apply(exit_ev(at(1.1), 11, 10, "gcc"));
    // the shell's second program does not rename the job
    t.apply(fork_ev(at(1.2), 13, 10, "sh"));
    t.apply(exec_ev(at(1.21), 13, 10, "strip", {"strip", "a.o"}));

    ASSERT_EQ(t.jobs().size(), 1u);
    const Job* j = t.job(id);
    ASSERT_TRUE(j);
    EXPECT_EQ(j->root_pid, 10u);
    EXPECT_EQ(j->name, "gcc");
    EXPECT_EQ(j->command, "gcc -c a.c");
    EXPECT_EQ(t.job_pids(id), (std::vector<uint32_t>{10, 13}));
    expect_consistent(t);
}

TEST(Tree, RecursiveMakeThroughAShellBecomesADriver) {
    Tree t = make_root();
    uint64_t wrapper = t.apply(fork_ev(at(0.1), 10, 1, "make")).new_jobs.at(0);
    t.apply(exec_ev(at(0.11), 10, 1, "sh", {"/bin/sh", "-c", "make -C sub"}));
    t.apply(fork_ev(at(0.2), 11, 10, "sh"));
    EXPECT_EQ(job_of(t, 11), wrapper);
    TreeDelta d = t.apply(exec_ev(at(0.21), 11, 10, "make", {"make", "-C", "sub"}));
    EXPECT_EQ(d.dissolved_jobs, std::vector<uint64_t>{wrapper});
    EXPECT_TRUE(d.new_jobs.empty());
    EXPECT_FALSE(t.job(wrapper));
    EXPECT_TRUE(t.jobs().empty());
    for (uint32_t pid : {10u, 11u}) {
        ASSERT_TRUE(t.process(pid));
        EXPECT_TRUE(t.process(pid)->driver) << pid;
        EXPECT_EQ(job_of(t, pid), 0u) << pid;
    }
    EXPECT_EQ(t.jobs_ended(), 0u);  // dissolved, not ended

    // the sub-make's children are jobs of their own
    uint64_t a = t.apply(fork_ev(at(0.3), 12, 11, "make")).new_jobs.at(0);
    t.apply(exec_ev(at(0.31), 12, 11, "gcc", {"gcc", "-c", "x.c"}));
    uint64_t b = t.apply(fork_ev(at(0.4), 13, 11, "make")).new_jobs.at(0);
    t.apply(exec_ev(at(0.41), 13, 11, "sh", {"sh", "-c", "g++ -c y.cc"}));
    t.apply(fork_ev(at(0.5), 14, 13, "sh"));
    t.apply(exec_ev(at(0.51), 14, 13, "g++", {"g++", "-c", "y.cc"}));
    EXPECT_NE(a, b);
    EXPECT_NE(a, wrapper);
    EXPECT_EQ(t.jobs().size(), 2u);
    EXPECT_EQ(t.job(a)->name, "gcc");
    EXPECT_EQ(t.job(a)->root_pid, 12u);
    EXPECT_EQ(t.job(b)->name, "g++");
    EXPECT_EQ(t.job_pids(b), (std::vector<uint32_t>{13, 14}));
    expect_consistent(t);
}

TEST(Tree, DirectRecursiveMakeDissolvesItsJob) {
    Tree t = make_root();
    uint64_t id = t.apply(fork_ev(at(0.1), 10, 1, "make")).new_jobs.at(0);
    TreeDelta d = t.apply(exec_ev(at(0.11), 10, 1, "make", {"make", "-C", "lib"}));
    EXPECT_EQ(d.dissolved_jobs, std::vector<uint64_t>{id});
    EXPECT_TRUE(t.jobs().empty());
    EXPECT_TRUE(t.process(10)->driver);
    uint64_t child = t.apply(fork_ev(at(0.2), 11, 10, "make")).new_jobs.at(0);
    EXPECT_EQ(t.job(child)->root_pid, 11u);
}

// Members of the wrapper job that are not on the path to the new driver
// become jobs of their own under it.
TEST(Tree, DissolvedJobsOtherMembersAreReassigned) {
    Tree t = make_root();
    uint64_t wrapper = t.apply(fork_ev(at(0.1), 10, 1, "make")).new_jobs.at(0);
    t.apply(exec_ev(at(0.11), 10, 1, "sh", {"sh", "-c", "gen.py > x.h; make -C sub"}));
    t.apply(fork_ev(at(0.2), 11, 10, "sh"));  // still running gen.py when make starts
    t.apply(exec_ev(at(0.21), 11, 10, "python3", {"python3", "gen.py"}));
    t.apply(rss_ev(at(0.22), 11, 30 * MiB));
    t.apply(fork_ev(at(0.3), 12, 10, "sh"));
    TreeDelta d = t.apply(exec_ev(at(0.31), 12, 10, "make", {"make", "-C", "sub"}));
    EXPECT_EQ(d.dissolved_jobs, std::vector<uint64_t>{wrapper});
    ASSERT_EQ(d.new_jobs.size(), 1u);
    const Job* j = t.job(d.new_jobs[0]);
    ASSERT_TRUE(j);
    EXPECT_EQ(j->root_pid, 11u);
    EXPECT_EQ(j->rss, 30 * MiB);
    EXPECT_TRUE(t.process(10)->driver);
    EXPECT_TRUE(t.process(12)->driver);
    EXPECT_FALSE(t.process(11)->driver);
    expect_consistent(t);
}

TEST(Tree, NinjaCmakeCargoAreNeverInAJob) {
    // make -> cmake --build -> ninja -> c++
    Tree t = make_root();
    uint64_t j1 = t.apply(fork_ev(at(0.1), 10, 1, "make")).new_jobs.at(0);
    TreeDelta d = t.apply(exec_ev(at(0.11), 10, 1, "cmake", {"cmake", "--build", "."}));
    EXPECT_EQ(d.dissolved_jobs, std::vector<uint64_t>{j1});
    uint64_t j2 = t.apply(fork_ev(at(0.2), 11, 10, "cmake")).new_jobs.at(0);
    d = t.apply(exec_ev(at(0.21), 11, 10, "ninja", {"ninja"}));
    EXPECT_EQ(d.dissolved_jobs, std::vector<uint64_t>{j2});
    uint64_t cxx = t.apply(fork_ev(at(0.3), 12, 11, "ninja")).new_jobs.at(0);
    t.apply(exec_ev(at(0.31), 12, 11, "c++", {"c++", "-c", "a.cc"}));
    EXPECT_EQ(t.jobs().size(), 1u);
    EXPECT_EQ(t.job(cxx)->name, "c++");
    for (uint32_t pid : {10u, 11u}) {
        EXPECT_TRUE(t.process(pid)->driver) << pid;
        EXPECT_EQ(job_of(t, pid), 0u) << pid;
    }
    expect_consistent(t);

    // a build rooted at cargo: rustc runs are jobs, cargo is not
    Tree c(TreeConfig{});
    c.add_root(1, 0, "cargo", T0);
    uint64_t rustc = c.apply(fork_ev(at(0.1), 10, 1, "cargo")).new_jobs.at(0);
    c.apply(exec_ev(at(0.11), 10, 1, "rustc", {"rustc", "--crate-name", "x"}));
    EXPECT_EQ(c.job(rustc)->name, "rustc");
    EXPECT_EQ(job_of(c, 1), 0u);

    // an exec'd ninja under the root (seen without its fork) is a driver
    Tree n = make_root();
    n.apply(exec_ev(at(0.1), 20, 1, "ninja", {"ninja", "-C", "out"}));
    EXPECT_TRUE(n.process(20)->driver);
    EXPECT_EQ(job_of(n, 20), 0u);
    uint64_t under = n.apply(fork_ev(at(0.2), 21, 20, "ninja")).new_jobs.at(0);
    EXPECT_EQ(n.job(under)->root_pid, 21u);
    EXPECT_TRUE(n.is_driver_name("samu"));
    EXPECT_TRUE(n.is_driver_name("meson"));
    EXPECT_FALSE(n.is_driver_name("gcc"));
}

TEST(Tree, ConfiguredDriversAreRespected) {
    TreeConfig cfg;
    cfg.drivers = {"bob", "make"};
    Tree t(cfg);
    t.add_root(1, 0, "bob", T0);
    uint64_t a = t.apply(fork_ev(at(0.1), 10, 1, "bob")).new_jobs.at(0);
    t.apply(exec_ev(at(0.11), 10, 1, "cc", {"cc", "-c", "a.c"}));
    EXPECT_EQ(t.job(a)->name, "cc");

    // a job member that execs the custom driver dissolves its job
    uint64_t b = t.apply(fork_ev(at(0.2), 20, 1, "bob")).new_jobs.at(0);
    TreeDelta d = t.apply(exec_ev(at(0.21), 20, 1, "bob", {"bob", "sub"}));
    EXPECT_EQ(d.dissolved_jobs, std::vector<uint64_t>{b});
    EXPECT_TRUE(t.process(20)->driver);

    // ninja is not a driver in this configuration: it is a job like any other
    uint64_t c = t.apply(fork_ev(at(0.3), 30, 1, "bob")).new_jobs.at(0);
    d = t.apply(exec_ev(at(0.31), 30, 1, "ninja", {"ninja"}));
    EXPECT_TRUE(d.dissolved_jobs.empty());
    EXPECT_EQ(job_of(t, 30), c);
    EXPECT_FALSE(t.process(30)->driver);
    uint64_t before = t.jobs().size();
    EXPECT_TRUE(t.apply(fork_ev(at(0.4), 31, 30, "ninja")).new_jobs.empty());
    EXPECT_EQ(job_of(t, 31), c);
    EXPECT_EQ(t.jobs().size(), before);
    EXPECT_FALSE(t.is_driver_name("ninja"));
    EXPECT_TRUE(t.is_driver_name("bob"));
    expect_consistent(t);
}

// distccd (a service root) pre-forks workers that never exec; each compiler a
// worker runs is a job of its own, not one job per worker for its lifetime.
TEST(Tree, ADriversForkThatForksBeforeItExecsIsAWorker) {
    TreeConfig cfg;
    cfg.drivers.push_back("distccd");
    Tree t(cfg);
    t.apply(exec_ev(at(0), 100, 1, "distccd", {"distccd", "--daemon"}));  // adopted at its exec
    EXPECT_TRUE(t.process(100)->driver);
    uint64_t worker_job = t.apply(fork_ev(at(0.1), 101, 100, "distccd")).new_jobs.at(0);
    TreeDelta d = t.apply(fork_ev(at(0.5), 110, 101, "distccd"));  // the worker forks a compiler
    EXPECT_EQ(d.dissolved_jobs, std::vector<uint64_t>{worker_job});
    EXPECT_TRUE(t.process(101)->driver);
    ASSERT_EQ(d.new_jobs.size(), 1u);
    uint64_t first = d.new_jobs[0];
    EXPECT_TRUE(d.started_jobs.empty()) << "a fork is not a started job before it execs";
    d = t.apply(exec_ev(at(0.51), 110, 101, "cc1plus", {"cc1plus", "big.ii"}));
    EXPECT_EQ(d.started_jobs, std::vector<uint64_t>{first});
    EXPECT_EQ(t.job(first)->root_pid, 110u);
    EXPECT_EQ(t.job(first)->name, "cc1plus");
    EXPECT_TRUE(t.job(first)->execd);
    t.apply(exit_ev(at(2), 110, 101, "cc1plus"));
    EXPECT_EQ(t.job(first), nullptr);
    // the next compile of the same worker is a new job
    uint64_t second = t.apply(fork_ev(at(2.1), 111, 101, "distccd")).new_jobs.at(0);
    EXPECT_NE(second, first);
    expect_consistent(t);

    // make's fork execs before it forks: it stays a job, with its children in it
    Tree m = make_root();
    uint64_t job = m.apply(fork_ev(at(0.1), 10, 1, "make")).new_jobs.at(0);
    m.apply(exec_ev(at(0.11), 10, 1, "sh", {"sh", "-c", "gcc -c a.c"}));
    EXPECT_TRUE(m.apply(fork_ev(at(0.12), 11, 10, "sh")).new_jobs.empty());
    EXPECT_EQ(job_of(m, 11), job);
    EXPECT_FALSE(m.process(10)->driver);
}

TEST(Tree, JobRssIsTheSumOfItsMembers) {
    Tree t = make_root();
    uint64_t id = t.apply(fork_ev(at(0.1), 10, 1, "make")).new_jobs.at(0);
    t.apply(exec_ev(at(0.1), 10, 1, "gcc"));
    t.apply(fork_ev(at(0.2), 11, 10, "gcc"));
    t.apply(fork_ev(at(0.2), 12, 10, "gcc"));
    t.apply(rss_ev(at(0.3), 10, 5 * MiB));
    t.apply(rss_ev(at(0.3), 11, 200 * MiB));
    t.apply(rss_ev(at(0.3), 12, 40 * MiB));
    EXPECT_EQ(t.job(id)->rss, 245 * MiB);
    // an RSS event replaces the process's value
    t.apply(rss_ev(at(0.4), 11, 300 * MiB));
    EXPECT_EQ(t.job(id)->rss, 345 * MiB);
    EXPECT_EQ(t.job(id)->peak, 345 * MiB);
    // the driver's RSS counts for the tree, not for the job
    t.apply(rss_ev(at(0.4), 1, 8 * MiB));
    EXPECT_EQ(t.job(id)->rss, 345 * MiB);
    EXPECT_EQ(t.total_rss(), 353 * MiB);
    // a member exits: its RSS leaves the job, the peak stays
    t.apply(exit_ev(at(0.5), 11, 10, "cc1plus"));
    EXPECT_EQ(t.job(id)->rss, 45 * MiB);
    EXPECT_EQ(t.job(id)->peak, 345 * MiB);
    EXPECT_EQ(t.total_rss(), 53 * MiB);
    // RSS of an unknown pid changes nothing
    t.apply(rss_ev(at(0.6), 999, 1 * GiB));
    EXPECT_EQ(t.total_rss(), 53 * MiB);
    expect_consistent(t);
}

TEST(Tree, FaultRatesAddUpPerJobAndGoStale) {
    Tree t = make_root();
    uint64_t id = t.apply(fork_ev(at(0.1), 10, 1, "make")).new_jobs.at(0);
    t.apply(exec_ev(at(0.1), 10, 1, "sh"));
    t.apply(fork_ev(at(0.1), 11, 10, "sh"));
    t.apply(fault_ev(at(0.2), 10, 500'000'000, 100));  // 200/s
    t.apply(fault_ev(at(0.2), 11, 250'000'000, 100));  // 400/s
    EXPECT_DOUBLE_EQ(t.job(id)->maj_per_s, 600.0);
    t.tick(at(0.9));
    EXPECT_DOUBLE_EQ(t.job(id)->maj_per_s, 600.0);
    t.tick(at(1.3));  // older than fault_stale_s
    EXPECT_DOUBLE_EQ(t.job(id)->maj_per_s, 0.0);
}

TEST(Tree, GrowthWhileGrowingAndZeroOnceStale) {
    Tree t = make_root();
    uint64_t id = t.apply(fork_ev(at(0), 10, 1, "make")).new_jobs.at(0);
    t.apply(exec_ev(at(0), 10, 1, "cc1plus"));
    EXPECT_EQ(t.job(id)->growth, 0.0);
    // 100 MiB/s for 2 s
    for (int i = 1; i <= 20; i++) t.apply(rss_ev(at(0.1 * i), 10, uint64_t(i) * 10 * MiB));
    double g = t.job(id)->growth;
    EXPECT_GT(g, 80.0 * MiB);
    EXPECT_LT(g, 110.0 * MiB);
    // not stale yet: the rate holds
    t.tick(at(2.0 + 0.5));
    EXPECT_EQ(t.job(id)->growth, g);
    // flat for longer than growth_stale_s: 0
    t.tick(at(2.0 + 1.2));
    EXPECT_EQ(t.job(id)->growth, 0.0);
    EXPECT_EQ(t.job(id)->rss, 200 * MiB);
    // shrinking: negative
    for (int i = 1; i <= 10; i++) t.apply(rss_ev(at(3.2 + 0.1 * i), 10, (200 - uint64_t(i) * 10) * MiB));
    EXPECT_LT(t.job(id)->growth, 0.0);

    // a custom growth_stale_s
    TreeConfig cfg;
    cfg.growth_stale_s = 3.0;
    Tree u(cfg);
    u.add_root(1, 0, "make", T0);
    uint64_t k = u.apply(fork_ev(at(0), 10, 1, "make")).new_jobs.at(0);
    for (int i = 1; i <= 10; i++) u.apply(rss_ev(at(0.1 * i), 10, uint64_t(i) * 10 * MiB));
    EXPECT_GT(u.job(k)->growth, 0.0);
    u.tick(at(1.0 + 2.0));
    EXPECT_GT(u.job(k)->growth, 0.0);
    u.tick(at(1.0 + 3.5));
    EXPECT_EQ(u.job(k)->growth, 0.0);
}

TEST(Tree, LastMemberExitingEndsTheJob) {
    Tree t = make_root();
    uint64_t id = t.apply(fork_ev(at(0.1), 10, 1, "make")).new_jobs.at(0);
    t.apply(exec_ev(at(0.1), 10, 1, "gcc"));
    t.apply(fork_ev(at(0.2), 11, 10, "gcc"));
    uint64_t other = t.apply(fork_ev(at(0.2), 20, 1, "make")).new_jobs.at(0);

    // the root of the job exits first: its child keeps the job alive
    TreeDelta d = t.apply(exit_ev(at(0.5), 10, 1, "gcc"));
    EXPECT_EQ(d.exited, std::vector<uint32_t>{10});
    EXPECT_TRUE(d.ended_jobs.empty());
    ASSERT_TRUE(t.job(id));
    EXPECT_EQ(t.job_pids(id), std::vector<uint32_t>{11});
    EXPECT_EQ(t.jobs_ended(), 0u);

    d = t.apply(exit_ev(at(0.6), 11, 10, "cc1plus"));
    EXPECT_EQ(d.ended_jobs, std::vector<uint64_t>{id});
    EXPECT_FALSE(t.job(id));
    EXPECT_FALSE(t.process(11));
    EXPECT_EQ(t.jobs_ended(), 1u);
    EXPECT_TRUE(t.job_pids(id).empty());
    EXPECT_TRUE(t.job(other));

    // a driver or an unknown pid exiting ends no job
    EXPECT_TRUE(t.apply(exit_ev(at(0.7), 555, 1, "x")).ended_jobs.empty());
    t.apply(exit_ev(at(0.8), 20, 1, "ld"));
    EXPECT_EQ(t.jobs_ended(), 2u);
    EXPECT_TRUE(t.apply(exit_ev(at(0.9), 1, 0, "make")).ended_jobs.empty());
    EXPECT_EQ(t.jobs_ended(), 2u);
    EXPECT_TRUE(t.jobs().empty());
}

TEST(Tree, SetStateCountsStops) {
    Tree t = make_root();
    uint64_t id = t.apply(fork_ev(at(0.1), 10, 1, "make")).new_jobs.at(0);
    t.set_state(id, JobState::Held, at(0.2));
    EXPECT_EQ(t.job(id)->state, JobState::Held);
    EXPECT_EQ(t.job(id)->state_since_ns, at(0.2));
    t.set_state(id, JobState::Running, at(0.3));
    t.set_state(id, JobState::Stopped, at(0.4));
    t.set_state(id, JobState::Stopped, at(0.5));  // no change: not another stop
    EXPECT_EQ(t.job(id)->stops, 2u);
    EXPECT_EQ(t.job(id)->state_since_ns, at(0.4));
    t.set_state(999, JobState::Stopped, at(0.5));  // unknown: ignored
    EXPECT_STREQ(job_state_name(JobState::Held), "held");
}

// The metrics' swamp_bpf_job_wait_seconds_total: waits by state, ended ones and the
// ongoing ones, of live jobs and of jobs that ended while stopped.
TEST(Tree, SecondsInStoppedAndHeldAddUpEveryWait) {
    Tree t = make_root();
    uint64_t a = t.apply(fork_ev(at(0.1), 10, 1, "make")).new_jobs.at(0);
    uint64_t b = t.apply(fork_ev(at(0.1), 20, 1, "make")).new_jobs.at(0);
    t.set_state(a, JobState::Held, at(1));
    t.set_state(a, JobState::Stopped, at(3));  // 2 s held
    t.set_state(a, JobState::Running, at(4));  // 1 s stopped
    t.set_state(b, JobState::Stopped, at(2));
    EXPECT_DOUBLE_EQ(t.seconds_in(JobState::Held, at(5)), 2.0);
    EXPECT_DOUBLE_EQ(t.seconds_in(JobState::Stopped, at(5)), 1.0 + 3.0) << "b's wait so far counts";
    t.apply(exit_ev(at(6), 20, 1, "make"));  // b ends while stopped (killed): its 4 s stay counted
    EXPECT_FALSE(t.job(b));
    EXPECT_DOUBLE_EQ(t.seconds_in(JobState::Stopped, at(9)), 1.0 + 4.0);
    EXPECT_DOUBLE_EQ(t.seconds_in(JobState::Running, at(9)), 0.0);
    // counted up to 9 s; then an event of 8.5 s ends the wait (it was read later): no step back
    uint64_t c = t.apply(fork_ev(at(7), 30, 1, "make")).new_jobs.at(0);
    t.set_state(c, JobState::Stopped, at(8));
    EXPECT_DOUBLE_EQ(t.seconds_in(JobState::Stopped, at(9)), 5.0 + 1.0);
    t.apply(exit_ev(at(8.5), 30, 1, "make"));
    EXPECT_DOUBLE_EQ(t.seconds_in(JobState::Stopped, at(9.1)), 6.0);
    EXPECT_DOUBLE_EQ(t.seconds_in(JobState::Stopped, at(12)), 6.0) << "and no more once the wait has ended";
}

TEST(Tree, SeededProcessesFormJobsTheSameWay) {
    Tree t = make_root();
    // make -> gcc -> cc1plus, found by the /proc walk (parents first)
    TreeDelta d = t.seed(10, 1, "gcc", "gcc -c a.c", T0);
    ASSERT_EQ(d.new_jobs.size(), 1u);
    uint64_t id = d.new_jobs[0];
    d = t.seed(11, 10, "cc1plus", "cc1plus a.c", T0);
    EXPECT_TRUE(d.new_jobs.empty());
    EXPECT_EQ(job_of(t, 11), id);
    EXPECT_EQ(t.job(id)->name, "gcc");
    EXPECT_EQ(t.job(id)->root_pid, 10u);
    EXPECT_TRUE(t.job(id)->execd) << "found running its program";
    // seeding a known pid again changes nothing
    EXPECT_TRUE(t.seed(10, 1, "gcc", "gcc", T0).new_jobs.empty());
    // a seeded make (not under a job) is a driver whose children are jobs
    EXPECT_TRUE(t.seed(20, 1, "make", "make", T0).new_jobs.empty());
    EXPECT_TRUE(t.process(20)->driver);
    EXPECT_EQ(t.seed(21, 20, "ld", "ld", T0).new_jobs.size(), 1u);
    // seeded processes then follow events like the others
    t.apply(fork_ev(at(0.1), 12, 11, "cc1plus"));
    EXPECT_EQ(job_of(t, 12), id);
    t.apply(rss_ev(at(0.2), 11, 100 * MiB));
    EXPECT_EQ(t.job(id)->rss, 100 * MiB);
    EXPECT_EQ(t.jobs().size(), 2u);
    expect_consistent(t);
}

// Seeding a running `make -> sh -c "make -C sub" -> make -> gcc`: the wrapper
// shell is a driver (as if the events had been seen), not a job of its own.
TEST(Tree, SeededRecursiveMakeTurnsItsWrapperIntoADriver) {
    Tree t = make_root();
    t.seed(10, 1, "sh", "sh", T0);
    t.seed(11, 10, "make", "make", T0);
    TreeDelta d = t.seed(12, 11, "gcc", "gcc", T0);
    ASSERT_EQ(d.new_jobs.size(), 1u);
    EXPECT_EQ(t.job(d.new_jobs[0])->root_pid, 12u);
    EXPECT_TRUE(t.process(11)->driver);
    EXPECT_TRUE(t.process(10)->driver) << "the wrapper shell of a seeded sub-make stayed a job member";
    EXPECT_EQ(job_of(t, 10), 0u);
    EXPECT_EQ(t.jobs().size(), 1u) << "the wrapper shell forms a job of its own";
    expect_consistent(t);
}

// Seeding `make -> sh -c "gcc …" -> gcc`: the job is named after gcc.
TEST(Tree, SeededWrapperShellJobIsNamedAfterItsProgram) {
    Tree t = make_root();
    uint64_t id = t.seed(10, 1, "sh", "sh", T0).new_jobs.at(0);
    t.seed(11, 10, "gcc", "gcc", T0);
    EXPECT_EQ(job_of(t, 11), id);
    EXPECT_EQ(t.job(id)->name, "gcc");
}

TEST(Tree, ProcessesOutsideTheDriversAreInNoJob) {
    Tree t = make_root();  // root pid 1, its parent 0 is not tracked
    TreeDelta d = t.apply(fork_ev(at(0.1), 50, 0, "bash"));  // the root's sibling
    EXPECT_TRUE(d.new_jobs.empty());
    EXPECT_TRUE(d.joined.empty());
    EXPECT_EQ(job_of(t, 50), 0u);
    t.apply(exec_ev(at(0.11), 50, 0, "cc1plus"));
    t.apply(rss_ev(at(0.12), 50, 500 * MiB));
    t.apply(fork_ev(at(0.2), 51, 50, "cc1plus"));
    EXPECT_EQ(job_of(t, 51), 0u);
    // an exec from an unknown parent, never seen forking
    d = t.apply(exec_ev(at(0.3), 60, 77, "ld"));
    EXPECT_TRUE(d.new_jobs.empty());
    EXPECT_EQ(job_of(t, 60), 0u);
    EXPECT_TRUE(t.jobs().empty());
    // the root's own children still form jobs
    EXPECT_EQ(t.apply(fork_ev(at(0.4), 10, 1, "make")).new_jobs.size(), 1u);
    EXPECT_EQ(t.jobs().size(), 1u);
}

TEST(Tree, ThreadForksAreIgnored) {
    Tree t = make_root();
    uint64_t id = t.apply(fork_ev(at(0.1), 10, 1, "make")).new_jobs.at(0);
    t.apply(exec_ev(at(0.1), 10, 1, "ld"));
    // ld starts threads: same tgid, new tids
    for (uint32_t tid : {11u, 12u, 13u}) {
        TreeDelta d = t.apply(thread_ev(at(0.2), 10, tid, 10, "ld"));
        EXPECT_TRUE(d.joined.empty());
        EXPECT_TRUE(d.new_jobs.empty());
    }
    // a thread of the driver is not a new job either
    EXPECT_TRUE(t.apply(thread_ev(at(0.3), 1, 5, 0, "make")).new_jobs.empty());
    EXPECT_EQ(t.jobs().size(), 1u);
    EXPECT_EQ(t.job_pids(id), std::vector<uint32_t>{10});
    for (uint32_t tid : {5u, 11u, 12u, 13u}) EXPECT_FALSE(t.process(tid)) << tid;
    EXPECT_EQ(t.process(10)->comm, "ld");
    EXPECT_EQ(t.process(1)->comm, "make");
}

// The kernel side could not track these (its task map was full): it will report
// nothing more of them, so they are never part of a job, which would be stopped
// without them and never see them end.
TEST(Tree, UntrackedForksAndExecsAreNeverAdded) {
    Tree t = make_root();
    uint64_t id = t.apply(fork_ev(at(0.1), 10, 1, "make")).new_jobs.at(0);
    ForkEvent child = fork_ev(at(0.2), 11, 10, "cc1");
    child.untracked = true;
    TreeDelta d = t.apply(child);
    EXPECT_TRUE(d.joined.empty());
    EXPECT_FALSE(t.process(11));
    EXPECT_EQ(t.job_pids(id), std::vector<uint32_t>{10});
    ForkEvent of_driver = fork_ev(at(0.3), 12, 1, "sh");
    of_driver.untracked = true;
    EXPECT_TRUE(t.apply(of_driver).new_jobs.empty());
    EXPECT_FALSE(t.process(12));
    ExecEvent root = exec_ev(at(0.4), 13, 1, "make");
    root.untracked = true;
    EXPECT_TRUE(t.apply(root).joined.empty());
    EXPECT_FALSE(t.process(13));
    EXPECT_EQ(t.jobs().size(), 1u);
    // the first member's exit ends the job: no phantom keeps it alive
    EXPECT_EQ(t.apply(exit_ev(at(1), 10, 1, "make")).ended_jobs, std::vector<uint64_t>{id});
    EXPECT_TRUE(t.jobs().empty());
    // a /proc resync adds it once the kernel tracks it
    EXPECT_EQ(t.seed(12, 1, "sh", "sh", at(2)).new_jobs.size(), 1u);
    expect_consistent(t);
}

TEST(Tree, RunningTimeLeavesOutStopsAndRecordsWhenThePeakCame) {
    Tree t = make_root();
    uint64_t id = t.apply(fork_ev(at(0), 10, 1, "make")).new_jobs.at(0);
    t.apply(exec_ev(at(0), 10, 1, "ld"));
    t.apply(rss_ev(at(1), 10, 100 * MiB));
    t.set_state(id, JobState::Stopped, at(2));
    EXPECT_EQ(t.job(id)->run_ns(at(5)), at(2) - at(0)) << "stopped time does not count";
    t.set_state(id, JobState::Running, at(5));
    t.apply(rss_ev(at(6), 10, 300 * MiB));
    EXPECT_EQ(t.job(id)->peak_run_ns, at(3) - at(0)) << "2 s before the stop, 1 s after";
    t.apply(rss_ev(at(7), 10, 200 * MiB));
    EXPECT_EQ(t.job(id)->peak_run_ns, at(3) - at(0)) << "a lower RSS is not a peak";
    TreeDelta d = t.apply(exit_ev(at(8), 10, 1, "ld"));
    ASSERT_EQ(d.ended.size(), 1u);
    EXPECT_EQ(d.ended[0].peak, 300 * MiB);
    EXPECT_EQ(d.ended[0].run_ns(at(8)), at(5) - at(0));
}

// One list of drivers (tree/drivers.hpp): the tree's default, --roots' default and the history's
// signatures all come from it, so a driver added there is a driver everywhere.
TEST(Drivers, OneListUsedEverywhere) {
    EXPECT_EQ(TreeConfig{}.drivers, kDefaultDrivers);
    Tree t(TreeConfig{});
    for (const char* name : {"siso", "bmake", "scons", "make", "ninja", "emerge"}) {
        EXPECT_TRUE(t.is_driver_name(name)) << name;
        EXPECT_FALSE(command_signature({name, "-j8"})) << name << " is a driver: the history predicts its jobs, not it";
    }
    for (const std::string& root : kDefaultRoots)
        EXPECT_TRUE(root == "distccd" || t.is_driver_name(root)) << root << " starts builds but is not a driver";
    for (const char* root : {"siso", "bmake", "scons"})
        EXPECT_NE(std::find(kDefaultRoots.begin(), kDefaultRoots.end(), root), kDefaultRoots.end()) << root;
    // cmake runs make or ninja, which are roots themselves
    EXPECT_EQ(std::find(kDefaultRoots.begin(), kDefaultRoots.end(), "cmake"), kDefaultRoots.end());
}

// Names users know (issue 17, item 5): a job's output file, and its emerge package, which a
// driver's children and their jobs inherit; a package from the environment is hostile input.
TEST(Names, TargetLabelAndPackage) {
    EXPECT_EQ(job_target("g++ -c ../src/main.cpp -o obj/main.o -O2"), "main.o");
    EXPECT_EQ(job_target("cc -oout/x.o -c x.c"), "x.o");
    EXPECT_EQ(job_target("ld.lld --output=a.out"), "");  // --output=FILE is not split: no guess
    EXPECT_EQ(job_target("hog --mib 40 --out /tmp/b"), "b");
    EXPECT_EQ(job_target("rustc --crate-name x src/lib.rs"), "lib.rs");
    EXPECT_EQ(job_target("cc1plus"), "");
    EXPECT_EQ(job_label("g++", "g++ -c a.cpp -o a.o"), "g++ a.o");
    EXPECT_EQ(job_label("true", "true"), "true");
    EXPECT_EQ(job_label("", ""), "?");

    EXPECT_EQ(package_name("dev-qt", "qtwebengine-6.7.2-r1"), "dev-qt/qtwebengine-6.7.2-r1");
    for (auto [cat, pf] : std::vector<std::pair<std::string, std::string>>{
             {"", "x-1"}, {"dev-libs", ""}, {"../..", "x"}, {"dev-libs", "a/b"}, {"dev\nlibs", "x"},
             {"dev-libs", "x y"}, {"dev-libs", std::string(65, 'a')}, {"-rf", "x"}, {"dev-libs", "\xff"}})
        EXPECT_EQ(package_name(cat, pf), "") << cat << "/" << pf;

    Tree t = make_root();  // 1: make
    t.apply(exec_ev(at(0.1), 20, 1, "ebuild.sh", {"ebuild.sh", "compile"}));
    t.set_package(20, "dev-libs/foo-1.0");
    t.apply(fork_ev(at(0.2), 21, 20, "ebuild.sh"));
    t.apply(exec_ev(at(0.21), 21, 20, "make", {"make", "-j2"}));
    uint64_t job = t.apply(fork_ev(at(0.3), 22, 21, "make")).new_jobs.at(0);
    t.apply(exec_ev(at(0.31), 22, 21, "g++", {"g++", "-c", "a.cpp", "-o", "a.o"}));
    EXPECT_EQ(t.job(job)->package, "dev-libs/foo-1.0");
    EXPECT_EQ(t.process(22)->package, "dev-libs/foo-1.0");
    // another package's ebuild.sh beside it: its jobs are of that one
    t.apply(fork_ev(at(0.4), 30, 1, "make"));
    t.apply(exec_ev(at(0.41), 30, 1, "ebuild.sh", {"ebuild.sh", "compile"}));
    t.set_package(30, "dev-libs/bar-2.0");
    uint64_t other = t.apply(fork_ev(at(0.5), 31, 30, "ebuild.sh")).new_jobs.at(0);
    EXPECT_EQ(t.job(other)->package, "dev-libs/bar-2.0");
    EXPECT_EQ(t.job(job)->package, "dev-libs/foo-1.0");
    uint64_t plain = t.apply(fork_ev(at(0.6), 40, 1, "make")).new_jobs.at(0);
    EXPECT_EQ(t.job(plain)->package, "");
}
