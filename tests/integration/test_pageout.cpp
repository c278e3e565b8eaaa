// Page-out of a stopped job, for real: a build of two jobs in a memory cgroup
// with a small swap device of its own (scripts/memcg-run.sh --swap-sd, made
// unthrottled here and always removed by it). A 400 MiB hog runs; a job
// that fills memory with a pattern starts next to it and is stopped as it
// grows (--mem-budget leaves no room for both). While it waits, --page-out on
// pushes its memory to swap (its VmSwap rises, its RSS falls); once the hog
// is done it resumes and checks every word (tests/workloads/pattern_check).
// With --page-out off the same stopped job keeps its memory: nothing else
// presses on it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "run_util.hpp"

using namespace swamp::test;
namespace fs = std::filesystem;

namespace {

// "VmSwap:   1234 kB" of /proc/PID/status, in bytes (0 if absent).
uint64_t status_bytes(pid_t pid, const std::string& key) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind(key + ":", 0) == 0) return std::stoull(line.substr(key.size() + 1)) * 1024;
    return 0;
}

struct Seen {
    int status = -1;
    std::string log, trace;
    bool stopped = false;      // the pattern job was seen stopped
    uint64_t max_swap = 0;     // its largest VmSwap while stopped
    uint64_t max_rss = 0;      // its largest VmRSS while stopped
    uint64_t min_rss = UINT64_MAX;
};

class PageOutTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (std::string why = missing_root_or_memcg(); !why.empty()) GTEST_SKIP() << why;
        if (!fs::exists("/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device"))
            GTEST_SKIP() << "memcg-run.sh --swap-sd needs the cgroup v1 blkio controller";
        dir_ = fresh_dir("pageout");
        marker_ = "SWAMP_PAGEOUT_TEST=" + std::to_string(getpid());
        // The hog reaches its 400 MiB peak first; the pattern job starts later and grows next to it,
        // at 100 MiB/s like a compiler, so it is the growing job with the least invested work: the
        // one stopped (at about 170 MiB: a short horizon lets it grow that far). It waits until
        // the hog is done: 12 CPU-s leave it stopped for seconds after its page-out (0.5 s delay,
        // ~0.6 s to page out). With 8 it was sometimes resumed before the poller below saw its
        // swap and its fallen RSS (VmSwap 78 of 96 MiB paged out).
        std::ofstream(dir_ / "Makefile") << "all: a b\n"
                                            "a:\n\tsleep 4.5 && exec env " << marker_ << " " PATTERN_CHECK_BIN " 200 1 100\n"
                                            "b:\n\texec " HOG_BIN " --mib 400 --cpu-s 12 --shape early\n";
    }
    void TearDown() override {
        if (IsSkipped()) return;
        fs::remove_all(dir_);
        EXPECT_TRUE(stopped_build_processes().empty()) << "a build process was left stopped";
        EXPECT_TRUE(stopped_build_processes(marker_).empty()) << "the pattern job was left stopped";
        EXPECT_TRUE(leftover_cgroups().empty()) << "a swamp-bpf cgroup was left behind";
    }

    Seen run_build(const std::string& page_out) {
        fs::path log = dir_ / "log", trace = dir_ / "trace.jsonl";
        std::string cmd = "SWAPSD_READ_BPS=0 SWAPSD_WRITE_BPS=0 " + std::string(SOURCE_DIR) +
                          "/scripts/memcg-run.sh --limit 1000M --swap-sd 400M --name pageout -- " SWAMP_BIN
                          " --no-history --page-out " + page_out + " --page-out-delay 0.5 --mem-budget 800M --horizon 0.1 --trace-json "
                          "--trace-output " + trace.string() + " -- make -s -f " + (dir_ / "Makefile").string() +
                          " -j2 >/dev/null 2>" + log.string();
        Child c = spawn({"/usr/bin/timeout", "120", "/bin/sh", "-c", cmd});
        Seen s;
        for (;;) {
            int status;
            if (waitpid(c.pid, &status, WNOHANG) == c.pid) {
                s.status = status;
                break;
            }
            for (const ProcInfo& p : processes()) {
                if (p.comm != "pattern_check" || p.state != 'T' || !has_env(p.pid, marker_)) continue;
                s.stopped = true;
                s.max_swap = std::max(s.max_swap, status_bytes(p.pid, "VmSwap"));
                uint64_t rss = status_bytes(p.pid, "VmRSS");
                s.max_rss = std::max(s.max_rss, rss);
                s.min_rss = std::min(s.min_rss, rss);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        close(c.out_fd);
        s.log = file_text(log);
        s.trace = file_text(trace);
        return s;
    }

    // The pageout events of the trace.
    static std::vector<nlohmann::json> page_outs(const std::string& trace) {
        std::vector<nlohmann::json> out;
        for (const auto& j : json_lines(trace))
            if (j.value("event", "") == "pageout") out.push_back(j);
        return out;
    }

    fs::path dir_;
    std::string marker_;
};

TEST_F(PageOutTest, StoppedJobIsPagedOutAndResumesIntact) {
    Seen s = run_build("on");
    ASSERT_TRUE(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 0)
        << "the build failed (pattern_check exits 3 on corrupted memory):\n" << s.log;
    ASSERT_TRUE(s.stopped) << "the pattern job was never stopped:\n" << s.log;
    auto events = page_outs(s.trace);
    ASSERT_FALSE(events.empty()) << s.log;
    const auto& e = events.front();
    EXPECT_EQ(e["method"], "process_madvise");
    EXPECT_EQ(e["comm"], "pattern_check");
    uint64_t before = e["rss_before"], after = e["rss_after"];
    std::printf("[ figures  ] page-out on: RSS %llu -> %llu MiB, VmSwap up to %llu MiB while stopped, in %.2f s\n",
                (unsigned long long)(before >> 20), (unsigned long long)(after >> 20),
                (unsigned long long)(s.max_swap >> 20), double(e["duration_ns"]) / 1e9);
    EXPECT_GE(before, 16ull << 20) << "the job was stopped before it had memory to page out";
    EXPECT_LT(after, before / 2);
    EXPECT_GE(s.max_swap, before / 2) << "its memory did not reach swap";
    EXPECT_LT(s.min_rss, s.max_rss / 2) << "its RSS did not fall while stopped";
    EXPECT_NE(s.log.find("paged out "), std::string::npos) << "the summary should say what was paged out:\n" << s.log;
}

TEST_F(PageOutTest, OffLeavesTheStoppedJobsMemoryAlone) {
    Seen s = run_build("off");
    ASSERT_TRUE(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 0) << s.log;
    ASSERT_TRUE(s.stopped) << "the pattern job was never stopped:\n" << s.log;
    EXPECT_TRUE(page_outs(s.trace).empty());
    EXPECT_LT(s.max_swap, 16ull << 20);
    EXPECT_EQ(s.log.find("paged out "), std::string::npos) << s.log;
}

}  // namespace
