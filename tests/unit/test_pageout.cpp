// Page-out of stopped jobs: the /proc and swap parsers, and the worker's
// timing (delay, cancel on resume) on a real child process. The page-out
// itself (process_madvise needs CAP_SYS_NICE) is covered by the integration
// test PageOut.*.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "actuator/page_out.hpp"
#include "sys/pageout.hpp"
#include "sys/signals.hpp"

using namespace swamp;

TEST(PageOutParse, RangesArePrivateWritableMappings) {
    const char* maps =
        "55d0c0000000-55d0c0002000 r--p 00000000 08:01 1234   /usr/bin/cc1plus\n"
        "55d0c0002000-55d0c0010000 r-xp 00002000 08:01 1234   /usr/bin/cc1plus\n"
        "55d0c0010000-55d0c0012000 rw-p 00010000 08:01 1234   /usr/bin/cc1plus\n"
        "55d0c1000000-55d0c9000000 rw-p 00000000 00:00 0      [heap]\n"
        "7f0000000000-7f0010000000 rw-p 00000000 00:00 0 \n"
        "7f0010000000-7f0010001000 ---p 00000000 00:00 0 \n"
        "7f0020000000-7f0020100000 rw-s 00000000 00:01 99     /dev/shm/x\n"
        "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0      [stack]\n"
        "7ffc00100000-7ffc00104000 r--p 00000000 00:00 0      [vvar]\n"
        "7ffc00104000-7ffc00106000 r-xp 00000000 00:00 0      [vdso]\n"
        "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]\n"
        "garbage line\n";
    auto r = pageout_ranges(maps);
    ASSERT_EQ(r.size(), 4u);
    EXPECT_EQ(r[0].start, 0x55d0c0010000u);  // .data of the executable
    EXPECT_EQ(r[0].len, 0x2000u);
    EXPECT_EQ(r[1].start, 0x55d0c1000000u);  // heap
    EXPECT_EQ(r[1].len, 0x8000000u);
    EXPECT_EQ(r[2].start, 0x7f0000000000u);  // anonymous mmap (malloc arena)
    EXPECT_EQ(r[3].start, 0x7ffc00000000u);  // stack
    EXPECT_TRUE(pageout_ranges("").empty());
}

TEST(PageOutParse, SwapPresence) {
    EXPECT_FALSE(swaps_have_device("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"));
    EXPECT_FALSE(swaps_have_device(""));
    EXPECT_TRUE(swaps_have_device("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
                                  "/dev/loop3                              partition\t2097148\t\t0\t\t32767\n"));
    EXPECT_TRUE(zswap_enabled("Y\n"));
    EXPECT_TRUE(zswap_enabled("1"));
    EXPECT_FALSE(zswap_enabled("N\n"));
    EXPECT_FALSE(zswap_enabled(""));
}

TEST(PageOutParse, StatusMemory) {
    auto m = parse_status_memory("Name:\tcc1plus\nVmPeak:\t  900 kB\nVmRSS:\t  2048 kB\nRssAnon:\t 1000 kB\n"
                                 "VmSwap:\t   512 kB\n");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->rss, 2048u * 1024);
    EXPECT_EQ(m->swap, 512u * 1024);
    auto no_swap = parse_status_memory("VmRSS:\t4 kB\n");
    ASSERT_TRUE(no_swap);
    EXPECT_EQ(no_swap->swap, 0u);
    EXPECT_FALSE(parse_status_memory("Name:\tkthreadd\nState:\tS\n"));  // kernel thread: no VmRSS
}

namespace {

// A child that touches `mib` MiB and sleeps until killed.
struct Sleeper {
    pid_t pid = -1;
    explicit Sleeper(size_t mib) {
        int ready[2];
        if (pipe(ready) != 0) return;
        pid = fork();
        if (pid == 0) {
            volatile char* p = static_cast<volatile char*>(malloc(mib << 20));
            for (size_t i = 0; i < mib << 20; i += 4096) p[i] = 1;
            (void)!write(ready[1], "x", 1);
            pause();
            _exit(0);
        }
        char c;
        (void)!read(ready[0], &c, 1);  // its memory is touched
        close(ready[0]);
        close(ready[1]);
    }
    ~Sleeper() {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
    }
    PageOutTarget target() const { return {{{pid, open_pidfd(pid)}}, ""}; }
};

bool always() { return true; }
bool never() { return false; }

}  // namespace

TEST(PageOuter, PagesOutAfterTheDelay) {
    Sleeper child(16);
    PageOuter pager(0.05, 4 << 20, &always);
    auto t0 = std::chrono::steady_clock::now();
    pager.stopped(7, child.target());
    pager.wait_idle();
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(50));
    auto reports = pager.take_reports();
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_EQ(reports[0].job, 7u);
    EXPECT_EQ(reports[0].pid, child.pid);
    EXPECT_EQ(reports[0].method, "process_madvise");
    EXPECT_GE(reports[0].rss_before, 16u << 20);
    EXPECT_LE(reports[0].start_ns, reports[0].end_ns);
    // without swap (or without CAP_SYS_NICE) nothing can go: done or failed, never cancelled
    EXPECT_NE(reports[0].outcome, "cancelled");
    EXPECT_TRUE(pager.take_reports().empty());
}

TEST(PageOuter, ResumedBeforeTheDelayCostsNothing) {
    Sleeper child(1);
    PageOuter pager(0.3, 4 << 20, &always);
    pager.stopped(1, child.target());
    pager.running(1);
    pager.stopped(2, child.target());
    pager.all_running();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_TRUE(pager.take_reports().empty());
    EXPECT_EQ(pager.totals().jobs, 0u);
}

TEST(PageOuter, AutoWithoutSwapDoesNothing) {
    Sleeper child(1);
    PageOuter pager(0.0, 4 << 20, &never);
    pager.stopped(3, child.target());
    pager.wait_idle();
    EXPECT_TRUE(pager.take_reports().empty());
}

TEST(PageOuter, AChildThatExitedIsNotPagedOut) {
    PageOutTarget t;
    {
        Sleeper child(1);
        t = child.target();
    }  // killed and reaped: its pidfd refers to a dead process
    PageOuter pager(0.0, 4 << 20, &always);
    pager.stopped(4, std::move(t));
    pager.wait_idle();
    auto reports = pager.take_reports();
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_EQ(reports[0].paged_out(), 0u);
    EXPECT_EQ(reports[0].rss_before, 0u);
}
