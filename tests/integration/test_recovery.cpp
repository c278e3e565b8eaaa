// The controller dies mid-build. Killed alone, its watchdog resumes every
// job within a second and, in launch mode, keeps the build alive (its process
// group is not orphaned, so the kernel sends no SIGHUP). Killed together with
// its watchdog, the next swamp-bpf resumes and thaws what they left, from the
// state file and from our cgroups, and adopts the build again.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>

#include "run_util.hpp"

using namespace swamp::test;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream text;
    text << in.rdbuf();  // a vanished process reads as ""
    return text.str();
}

// A process whose command line mentions `marker` is stopped, or sits in a frozen cgroup.
bool held(const std::string& marker) {
    for (const auto& e : fs::directory_iterator("/proc")) {
        if (!std::isdigit(e.path().filename().string()[0])) continue;
        if (slurp(e.path() / "cmdline").find(marker) == std::string::npos) continue;
        std::string stat = slurp(e.path() / "stat");
        auto close = stat.rfind(')');
        if (close != std::string::npos && close + 2 < stat.size() && (stat[close + 2] == 'T' || stat[close + 2] == 't'))
            return true;
        std::string cg = slurp(e.path() / "cgroup");
        auto v2 = cg.find("0::");
        if (v2 == std::string::npos) continue;
        std::string path = cg.substr(v2 + 3, cg.find('\n', v2) - v2 - 3);
        if (slurp("/sys/fs/cgroup/unified" + path + "/cgroup.events").find("frozen 1") != std::string::npos) return true;
    }
    return false;
}

// Waits (up to 60 s) until one of our jobs is really stopped or frozen right now.
bool wait_until_held(const std::string& marker) {
    for (int i = 0; i < 3000; i++) {
        if (held(marker)) return true;
        usleep(20 * 1000);
    }
    return false;
}

pid_t watchdog_of(pid_t controller) {
    for (const auto& e : fs::directory_iterator("/proc")) {
        if (!std::isdigit(e.path().filename().string()[0])) continue;
        std::string stat = slurp(e.path() / "stat");
        auto close = stat.rfind(')');
        if (close == std::string::npos || stat.find("(swamp-watchdog)") == std::string::npos) continue;
        if (std::atoi(stat.c_str() + close + 4) == controller) return std::stoi(e.path().filename());
    }
    return -1;
}

void unstick() {  // never leave the machine stuck when an assertion fails
    std::string ignored;
    run({SWAMP_BIN, "recover"}, ignored);
}

// Waits for `c` up to `seconds`. If it still runs then, a job stayed stopped:
// resume everything (so the machine is not left stuck), reap it, return -1.
int wait_bounded(Child& c, int seconds) {
    int status = -1;
    for (int i = 0; i < seconds * 10; i++) {
        if (waitpid(c.pid, &status, WNOHANG) == c.pid) {
            close(c.out_fd);
            return status;
        }
        usleep(100 * 1000);
    }
    unstick();
    waitpid(c.pid, &status, 0);
    close(c.out_fd);
    return -1;
}

class RecoveryTest : public ::testing::TestWithParam<const char*> {
protected:
    void SetUp() override {
        if (!is_root()) GTEST_SKIP() << "needs root (BPF)";
        out_ = fresh_dir("recovery");
    }
    void TearDown() override {
        if (IsSkipped()) return;
        if (held(out_.string())) unstick();
        EXPECT_TRUE(stopped_build_processes().empty()) << "a build process was left stopped";
        EXPECT_TRUE(leftover_cgroups().empty()) << "a swamp-bpf cgroup was left behind";
        fs::remove_all(out_);
    }
    std::string make_cmd() const {
        return "make -s -f " + std::string(SOURCE_DIR) + "/tests/fakebuild/Makefile.demo HOG=" + HOG_BIN +
               " OUT=" + (out_ / "build").string() + " -j4";
    }
    bool build_complete() const { return fs::exists(out_ / "build" / "app") && fs::exists(out_ / "build" / "tests"); }

    fs::path out_;
};

// Launch mode, controller SIGKILLed while jobs wait: everything runs again
// within 1 s and the build finishes as it would have without swamp-bpf (no
// memory limit here: --mem-budget alone makes the controller stop jobs).
TEST_P(RecoveryTest, LaunchModeSigkillResumesAtOnceAndTheBuildFinishes) {
    std::string status_file = (out_ / "status").string();
    std::string inner = make_cmd() + "; echo $? > " + status_file;
    Child swamp = spawn({"/usr/bin/setsid", SWAMP_BIN, "-q", "--no-history", "--action", GetParam(), "--mem-budget", "500M", "--",
                         "/bin/sh", "-c", inner});
    ASSERT_TRUE(wait_until_held(out_.string())) << "no job was ever stopped";
    pid_t controller = find_swamp(out_.string());
    ASSERT_GT(controller, 0);
    ASSERT_EQ(kill(controller, SIGKILL), 0);
    auto killed = std::chrono::steady_clock::now();
    while (held(out_.string()) && std::chrono::steady_clock::now() - killed < std::chrono::seconds(30)) usleep(2000);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - killed).count();
    std::string ignored;
    finish(swamp, ignored);
    std::printf("[ figures  ] %s: everything resumed %.1f ms after SIGKILL of the controller\n", GetParam(), ms);
    EXPECT_FALSE(held(out_.string()));  // how soon is a figure (tests/bench/latency.sh), not a test
    for (int i = 0; i < 1200 && !fs::exists(status_file); i++) usleep(100 * 1000);
    EXPECT_EQ(slurp(status_file), "0\n") << "make was killed (a SIGHUP to an orphaned group?) or failed";
    EXPECT_TRUE(build_complete());
}

// --root-pid mode, controller and watchdog both SIGKILLed (the controller
// SIGSTOPped first, so a job is surely held when they die): the jobs stay
// stopped or frozen until a new swamp-bpf starts, which resumes them from the
// state file, adopts the build and sees it through.
TEST_P(RecoveryTest, RestartResumesWhatBothKilledProcessesLeft) {
    Child build = spawn({"/bin/sh", "-c", make_cmd()});
    Child first = spawn({SWAMP_BIN, "-q", "--no-history", "--action", GetParam(), "--mem-budget", "500M", "--root-pid",
                         std::to_string(build.pid)});
    ASSERT_TRUE(wait_until_held(out_.string())) << "no job was ever stopped";
    ASSERT_EQ(kill(first.pid, SIGSTOP), 0);
    usleep(50 * 1000);
    pid_t watchdog = watchdog_of(first.pid);
    ASSERT_GT(watchdog, 0);
    fs::path state = fs::path("/run/swamp-bpf") / (std::to_string(first.pid) + ".state");
    ASSERT_EQ(kill(watchdog, SIGKILL), 0);
    ASSERT_EQ(kill(first.pid, SIGKILL), 0);
    std::string ignored;
    finish(first, ignored);
    usleep(300 * 1000);
    if (!held(out_.string())) {
        unstick();
        GTEST_SKIP() << "every job had just been resumed when the controller stopped; nothing to recover";
    }
    EXPECT_TRUE(fs::exists(state)) << "the state file of the killed instance";

    std::string log = (out_ / "second.log").string();
    Child second = spawn({"/bin/sh", "-c", std::string(SWAMP_BIN) + " --no-history --action " + GetParam() +
                                               " --mem-budget 500M --root-pid " + std::to_string(build.pid) + " 2>" +
                                               log});
    int status = wait_bounded(build, 300);
    finish(second, ignored);
    std::string text = slurp(log);
    EXPECT_EQ(status, 0) << text;
    EXPECT_TRUE(build_complete());
    std::regex says(std::string(GetParam()) == "freeze" ? "thawed [1-9][0-9]* frozen cgroup"
                                                        : "resumed [1-9][0-9]* stopped process");
    EXPECT_TRUE(std::regex_search(text, says)) << text;
    EXPECT_NE(text.find("left by an earlier swamp-bpf that died (pid " + std::to_string(first.pid)), std::string::npos)
        << text;
    EXPECT_NE(text.find("build root exited"), std::string::npos) << "the second instance managed the build:\n" << text;
    EXPECT_FALSE(fs::exists(state));
}

INSTANTIATE_TEST_SUITE_P(Actuators, RecoveryTest, ::testing::Values("signal", "freeze"));

}  // namespace

namespace {

// A ring buffer far too small for a burst of 400 processes: the loss is
// counted and shown, the tree is resynced from /proc, and the run ends cleanly.
TEST(RingBufferOverflow, IsCountedShownAndResynced) {
    if (!is_root()) GTEST_SKIP() << "needs root (BPF)";
    std::string log;
    int status = run({"/bin/sh", "-c",
                      std::string(SWAMP_BIN) +
                          " --no-history --ringbuf-size 4K --mem-budget 8G -- /bin/sh -c 'for i in $(seq 400); do /bin/true & done; "
                          "wait' 2>&1"},
                     log);
    ASSERT_TRUE(WIFEXITED(status)) << log;
    EXPECT_EQ(WEXITSTATUS(status), 0) << log;
    EXPECT_NE(log.find("events lost so far (ring buffer full; raise --ringbuf-size); resynced the tree from /proc"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find(" resyncs from /proc"), std::string::npos) << "the summary counts them:\n" << log;
    EXPECT_TRUE(stopped_build_processes().empty());
}

}  // namespace

namespace {

// --protect: a job running a protected name is never stopped, however short
// memory is, and swamp-bpf says so once per job. (The same build under the
// same budget without --protect is stopped many times: RecoveryTest.)
TEST(Protection, AProtectedNameIsNeverStopped) {
    if (!is_root()) GTEST_SKIP() << "needs root (BPF)";
    fs::path out = fs::temp_directory_path() / ("swamp-protect-" + std::to_string(getpid()));
    fs::remove_all(out);
    std::string log = out.string() + ".log";
    Child swamp = spawn({"/bin/sh", "-c",
                         std::string(SWAMP_BIN) + " --no-history --protect hog --mem-budget 500M -- make -s -f " + SOURCE_DIR +
                             "/tests/fakebuild/Makefile.demo HOG=" + HOG_BIN + " OUT=" + out.string() + " -j4 2>" + log});
    bool ever_stopped = false;
    for (int status; waitpid(swamp.pid, &status, WNOHANG) == 0;) {
        ever_stopped = ever_stopped || held(out.string());
        usleep(20 * 1000);
    }
    close(swamp.out_fd);
    std::string text = slurp(log);
    EXPECT_FALSE(ever_stopped) << text;
    EXPECT_NE(text.find("(hog) in job "), std::string::npos) << text;
    EXPECT_NE(text.find("is on the protect list: the job is never stopped"), std::string::npos) << text;
    EXPECT_NE(text.find("command exited with status 0"), std::string::npos) << text;
    EXPECT_NE(text.find(" 0 stops, 0 holds at exec"), std::string::npos) << text;
    fs::remove_all(out);
    fs::remove(log);
}

}  // namespace
