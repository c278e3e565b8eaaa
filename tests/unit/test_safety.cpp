// Who may be stopped (protection, pid reuse) and the state file a restart
// recovers from.
#include <gtest/gtest.h>

#include "actuator/leftovers.hpp"
#include "actuator/vetting.hpp"

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
    Recovery r{2, 1, {1234}};
    EXPECT_EQ(describe(r), "resumed 2 stopped processes and thawed 1 frozen cgroup left by an earlier swamp-bpf that "
                           "died (pid 1234)");
}
