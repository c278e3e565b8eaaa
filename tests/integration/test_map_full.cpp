// A task map too small for the build (--max-tasks 64, the least it allows): the
// kernel side cannot track every process. The controller must say so (log,
// summary, status file, trace), never stop or count a process it does not
// follow, track the missed ones from /proc once entries free up, and still see
// the build to its end with nothing left stopped or frozen.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "run_util.hpp"

using namespace swamp::test;
namespace fs = std::filesystem;

namespace {

// 24 jobs, 12 running at once or more, each a shell with 6 children at first (7
// processes): 84 at once or more, far beyond 64. Then each job is one process (at
// most 25 with make), with room in the map again, still there to be tracked.
std::string makefile() {
    std::string all = "all:", rules;
    for (int i = 0; i < 24; i++) {
        std::string t = "t" + std::to_string(i);
        all += " " + t;
        rules += t + ":\n\t@sleep 1 & sleep 1 & sleep 1 & sleep 1 & sleep 1 & sleep 1 & wait; exec sleep 3\n";
    }
    return all + "\n\n" + rules + ".PHONY: all\n";
}

class MapFullTest : public ::testing::TestWithParam<std::string> {};

// Whatever the test leaves, on every exit path: the build's processes, the temp dir.
struct CleanUp {
    std::string marker;
    fs::path dir;
    ~CleanUp() {
        for (const ProcInfo& p : processes())  // nothing, normally
            if (has_env(p.pid, marker)) kill(p.pid, SIGKILL), kill(p.pid, SIGCONT);
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

TEST_P(MapFullTest, UntrackedProcessesAreReportedNeverStoppedAndTrackedLater) {
    if (!is_root()) GTEST_SKIP() << "needs root (real BPF)";
    if (GetParam() == "freeze" && !have_cgroup2()) GTEST_SKIP() << "no cgroup v2";
    char tmpl[] = "/tmp/swamp-mapfull-XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl));
    fs::path dir = tmpl;
    std::ofstream(dir / "Makefile") << makefile();
    std::string marker = "SWAMP_MAPFULL_TEST=" + std::to_string(getpid());
    CleanUp clean_up{marker, dir};
    fs::path log = dir / "log", status_file = dir / "status", trace = dir / "trace.jsonl";

    Child c = spawn({"/usr/bin/env", marker, "/bin/sh", "-c", "exec \"$@\" >\"$0\" 2>&1", log.string(), SWAMP_BIN,
                     "--no-history", "--max-tasks", "64", "--max-running", "12", "--action", GetParam(),
                     "--status-file", status_file.string(), "--trace-json", "--trace-output", trace.string(), "--",
                     "make", "-s", "-j24", "-C", dir.string()});
    close(c.out_fd);
    pid_t swamp = c.pid;  // env and sh exec it
    int status = -1;
    for (int i = 0; i < 1200 && waitpid(c.pid, &status, WNOHANG) != c.pid; i++) usleep(100 * 1000);
    if (!WIFEXITED(status) && !WIFSIGNALED(status)) {  // still running after 2 minutes: end it
        kill(c.pid, SIGTERM);
        waitpid(c.pid, &status, 0);
    }
    std::string text = file_text(log.string());
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "\n" << text;

    // said at once, in the log
    EXPECT_NE(text.find("the task map is full (--max-tasks 64)"), std::string::npos) << text;
    // counted in the summary
    std::smatch m;
    bool counted = std::regex_search(
        text, m, std::regex("; ([0-9]+) processes not tracked \\(the task map is full: raise --max-tasks\\)"));
    EXPECT_TRUE(counted) << text;
    uint64_t untracked = counted ? std::stoull(m[1]) : 0;
    EXPECT_GT(untracked, 0u);
    // repaired: once entries freed up, the missed shells were tracked from /proc
    EXPECT_NE(text.find("the task map has room again"), std::string::npos) << text;
    // and in the status file, which lists no phantom job once the build is over
    std::string st = file_text(status_file.string());
    EXPECT_NE(st.find("\nuntracked_total=" + std::to_string(untracked) + "\n"), std::string::npos) << st;
    EXPECT_NE(st.find("state=exited\n"), std::string::npos) << st;
    EXPECT_EQ(st.find("\njob."), std::string::npos) << "a job outlived the build:\n" << st;
    // the kernel side marked the forks it could not track
    EXPECT_NE(file_text(trace.string()).find("\"untracked\":true"), std::string::npos);

    EXPECT_EQ(stopped_build_processes(marker), std::vector<std::string>{}) << "a process of the build is stopped";
    EXPECT_EQ(frozen_cgroups(swamp), std::vector<std::string>{});
    EXPECT_EQ(leftover_cgroups(swamp), std::vector<std::string>{});
}

INSTANTIATE_TEST_SUITE_P(Actuators, MapFullTest, ::testing::Values("signal", "freeze"));

}  // namespace
