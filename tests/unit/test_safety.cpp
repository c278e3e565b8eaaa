// Who may be stopped (protection, pid reuse, out of file descriptors) and the
// state file a restart recovers from.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "actuator/leftovers.hpp"
#include "actuator/signal_actuator.hpp"
#include "actuator/vetting.hpp"
#include "sys/proc.hpp"
#include "sys/limits.hpp"

using namespace swamp;

namespace {

ProcStat proc(pid_t pid, const std::string& comm, pid_t sid = 0) {
    ProcStat p;
    p.pid = pid;
    p.ppid = 1;
    p.comm = comm;
    p.sid = sid;
    return p;
}

ProtectRules rules() {
    ProtectRules r;
    r.names = {"sshd", "tmux: server"};
    r.login_shell = "bash";
    r.pids = {500, 501};
    return r;
}

}  // namespace

TEST(Protection, InitKernelThreadsOurselvesAndTheListAreProtected) {
    EXPECT_EQ(protection_reason(proc(1, "systemd"), rules()), "init");
    ProcStat kthread = proc(2, "kthreadd");
    kthread.flags = 0x00200000;
    EXPECT_EQ(protection_reason(kthread, rules()), "a kernel thread");
    EXPECT_NE(protection_reason(proc(500, "swamp-bpf"), rules()), "");
    EXPECT_EQ(protection_reason(proc(42, "sshd"), rules()), "on the protect list");
    EXPECT_EQ(protection_reason(proc(43, "tmux: server"), rules()), "on the protect list");
}

TEST(Protection, BuildProcessesAndWrapperShellsAreNot) {
    EXPECT_EQ(protection_reason(proc(44, "cc1plus"), rules()), "");
    EXPECT_EQ(protection_reason(proc(45, "ld"), rules()), "");
    // `bash -c "g++ …"` under make does not lead a session: it may be stopped
    EXPECT_EQ(protection_reason(proc(46, "bash", 30), rules()), "");
    // the user's interactive login shell leads its session: never
    EXPECT_EQ(protection_reason(proc(47, "bash", 47), rules()), "a login shell");
}

TEST(PidReuse, AProcessStartedAfterTheEventIsAnother) {
    const long hz = 100;  // 10 ms ticks
    const uint64_t seen = 5'000'000'000;  // 5 s after boot
    EXPECT_FALSE(started_after(400, seen, hz));  // started at 4 s: the one we saw
    EXPECT_FALSE(started_after(500, seen, hz));  // same tick as the event
    EXPECT_TRUE(started_after(501, seen, hz));   // after it: the pid was reused
}

TEST(StateFile, RoundTrips) {
    StateFile s;
    s.controller = 1234;
    s.controller_start = 99;
    s.watchdog = 1235;
    s.watchdog_start = 100;
    s.cgroup_dir = "/sys/fs/cgroup/unified/user.slice/swamp-bpf-1234";
    s.held = {{3, 2000, 500}, {3, 2001, 501}, {7, 2100, 600}};
    auto back = parse_state(format_state(s));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->controller, 1234);
    EXPECT_EQ(back->controller_start, 99u);
    EXPECT_EQ(back->watchdog, 1235);
    EXPECT_EQ(back->cgroup_dir, s.cgroup_dir);
    ASSERT_EQ(back->held.size(), 3u);
    EXPECT_EQ(back->held[2].job, 7u);
    EXPECT_EQ(back->held[2].pid, 2100);
    EXPECT_EQ(back->held[2].start_ticks, 600u);
}

TEST(StateFile, RejectsWhatItCannotActOnSafely) {
    EXPECT_FALSE(parse_state(""));                                  // no controller line
    EXPECT_FALSE(parse_state("controller 12\n"));                   // no start time
    EXPECT_FALSE(parse_state("controller 12 5\nstopped 3 1 9\n"));  // pid 1 is never ours
    EXPECT_FALSE(parse_state("controller 12 5\ncgroup /sys/fs/cgroup/unified/user.slice\n"));  // not our directory
    EXPECT_FALSE(parse_state("controller 12 5\nfrobnicate 1\n"));
    EXPECT_TRUE(parse_state("# comment\ncontroller 12 5\nwatchdog 13 6\n"));
}

TEST(StateFile, DescribesARecovery) {
    EXPECT_EQ(describe(Recovery{}), "");
    Recovery r{2, 1, {1234}, {}};
    EXPECT_EQ(describe(r), "resumed 2 stopped processes and thawed 1 frozen cgroup left by an earlier swamp-bpf that "
                           "died (pid 1234)");
}

// The signal actuator on real child processes (no root needed for our own children).
namespace {

class Sleeper {
public:
    Sleeper() {
        pid_ = fork();
        if (pid_ == 0) {
            execl("/bin/sleep", "sleep", "30", nullptr);
            _exit(127);
        }
        usleep(20 * 1000);  // exec'd
    }
    ~Sleeper() {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    pid_t pid() const { return pid_; }
    // Waits up to a second for state T (true) or not T (false).
    bool stopped(bool want = true) const {
        for (int i = 0; i < 100; i++, usleep(10 * 1000))
            if (is_stopped(pid_) == want) return true;
        return false;
    }
    bool running() const { return stopped(false); }

private:
    pid_t pid_;
};

uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
}

}  // namespace

// A job that dissolves (its process exec'd a driver) while stopped: what we
// stopped runs again before we forget it.
TEST(SignalActuator, AJobThatEndsOrDissolvesWhileStoppedIsResumed) {
    Sleeper s;
    SignalActuator a{Vetter({})};
    ASSERT_EQ(a.on_join(1, s.pid(), false, now_ns()).verdict, Verdict::Ok);
    std::string error;
    ASSERT_TRUE(a.stop(1, {s.pid()}, error)) << error;
    ASSERT_TRUE(s.stopped());
    a.on_job_end(1);
    EXPECT_TRUE(s.running()) << "the dissolved job's process stays stopped";
    EXPECT_TRUE(a.stopped().empty());
}

// A process stopped by someone else is neither ours to stop nor to resume.
TEST(SignalActuator, ResumesOnlyWhatItStopped) {
    Sleeper users, ours;
    SignalActuator a{Vetter({})};
    ASSERT_EQ(a.on_join(1, users.pid(), false, now_ns()).verdict, Verdict::Ok);
    ASSERT_EQ(a.on_join(1, ours.pid(), false, now_ns()).verdict, Verdict::Ok);
    kill(users.pid(), SIGSTOP);
    ASSERT_TRUE(users.stopped());
    std::string error;
    ASSERT_TRUE(a.stop(1, {users.pid(), ours.pid()}, error)) << error;
    ASSERT_TRUE(ours.stopped());
    EXPECT_EQ(a.stopped().at(1), std::set<pid_t>{ours.pid()});
    ASSERT_TRUE(a.resume(1, {users.pid(), ours.pid()}, error)) << error;
    EXPECT_TRUE(ours.running());
    usleep(100 * 1000);
    EXPECT_TRUE(is_stopped(users.pid())) << "resumed a process the user had stopped";
    // one that joins a stopped job already stopped by someone else is not held either
    Sleeper late;
    kill(late.pid(), SIGSTOP);
    ASSERT_TRUE(late.stopped());
    ASSERT_TRUE(a.stop(2, {ours.pid()}, error)) << error;
    ASSERT_EQ(a.on_join(2, late.pid(), true, now_ns()).verdict, Verdict::Ok);
    EXPECT_EQ(a.stopped().at(2), std::set<pid_t>{ours.pid()});
    a.resume_all();
    EXPECT_TRUE(ours.running());
    usleep(100 * 1000);
    EXPECT_TRUE(is_stopped(late.pid()));
    kill(users.pid(), SIGCONT), kill(late.pid(), SIGCONT);
}

// After a SIGCONT from elsewhere (the shell's bg continues the whole group), restop() holds again what we hold.
TEST(SignalActuator, RestopStopsAgainWhatItHolds) {
    Sleeper s;
    SignalActuator a{Vetter({})};
    ASSERT_EQ(a.on_join(1, s.pid(), false, now_ns()).verdict, Verdict::Ok);
    std::string error;
    ASSERT_TRUE(a.stop(1, {s.pid()}, error)) << error;
    kill(s.pid(), SIGCONT);
    ASSERT_TRUE(s.running());
    a.restop();
    EXPECT_TRUE(s.stopped());
    a.resume_all();
    EXPECT_TRUE(s.running());
}

// A process the kernel showed at `seen` still runs; after it is reaped it does not.
TEST(SignalActuator, StillRunsKnowsAReapedProcess) {
    uint64_t seen = 0;
    pid_t pid;
    {
        Sleeper s;
        seen = now_ns();  // the event that shows it comes after its start
        pid = s.pid();
        EXPECT_TRUE(still_runs(pid, seen));
        EXPECT_FALSE(still_runs(pid, seen - 60'000'000'000ull)) << "started after the event: a reused pid";
    }
    EXPECT_FALSE(still_runs(pid, seen));
}

TEST(FdLimit, WarnsWithTheFiguresAndTheConsequenceOnlyWhenShort) {
    EXPECT_EQ(fds_needed(16384), 16640u);
    EXPECT_EQ(fd_limit_warning({16640, 1024, 16640, 524288}), "");
    EXPECT_EQ(fd_limit_warning({16640, 1024, 1024, 1024}),
              "the open-file limit is 1024 (hard 1024) and cannot be raised to the 16640 that --max-tasks needs: "
              "past 768 processes, new ones run unmanaged (never stopped; counted in the summary). Raise the limit "
              "(LimitNOFILE=, ulimit -n) or lower --max-tasks");
    EXPECT_NE(fd_limit_warning({16640, 64, 64, 64}).find(": all processes run unmanaged"), std::string::npos);
}

// Out of pidfds, a live process is Unheld (never stopped, its job neither), not Gone.
TEST(FdLimit, AProcessWithoutRoomForItsPidfdIsUnheldNotGone) {
    rlimit old{};
    getrlimit(RLIMIT_NOFILE, &old);
    rlimit low = old;
    low.rlim_cur = kOwnFds + 1;  // room for one pidfd
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
    std::vector<pid_t> kids;
    for (int i = 0; i < 2; i++)
        if (pid_t p = fork(); p == 0) pause(), _exit(0);
        else kids.push_back(p);
    {
        SignalActuator a{Vetter({})};
        setrlimit(RLIMIT_NOFILE, &old);
        timespec now{};
        clock_gettime(CLOCK_MONOTONIC, &now);
        uint64_t seen = uint64_t(now.tv_sec) * 1'000'000'000 + uint64_t(now.tv_nsec);
        EXPECT_EQ(a.on_join(1, kids[0], false, seen).verdict, Verdict::Ok);
        Vetted v = a.on_join(2, kids[1], true, seen);
        EXPECT_EQ(v.verdict, Verdict::Unheld);
        EXPECT_EQ(v.reason, "out of file descriptors (Too many open files)");
        EXPECT_TRUE(a.stopped().empty()) << "an unheld process is never stopped";
    }
    for (pid_t p : kids) kill(p, SIGKILL), waitpid(p, nullptr, 0);
}

// The controller runs ahead of the build; what it starts later (a hook) gets
// back the nice the controller started with. Checked in a child, so the test
// runner's own nice is left alone.
TEST(Priority, RaisedForUsAndRestoredForWhatWeStart) {
    if (geteuid() != 0) GTEST_SKIP() << "raising a priority needs root";
    pid_t child = fork();
    if (child == 0) {
        setpriority(PRIO_PROCESS, 0, 3);
        if (!raise_priority(-4).empty() || getpriority(PRIO_PROCESS, 0) != -4) _exit(1);
        if (!raise_priority(0).empty() || getpriority(PRIO_PROCESS, 0) != -4) _exit(2);  // never lowered
        pid_t grandchild = fork();
        if (grandchild == 0) {
            restore_start_limits();
            _exit(getpriority(PRIO_PROCESS, 0) == 3 ? 0 : 3);
        }
        int st = 0;
        waitpid(grandchild, &st, 0);
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 4);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: not raised, 2: lowered again, 3: not restored in a child";
}
