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

#include "run_util.hpp"

using namespace swamp::test;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool something_held() { return !stopped_build_processes().empty() || !frozen_cgroups().empty(); }

// Waits (up to 60 s) until a job is really stopped or frozen right now.
bool wait_until_held() {
    for (int i = 0; i < 3000; i++) {
        if (something_held()) return true;
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

class RecoveryTest : public ::testing::TestWithParam<const char*> {
protected:
    void SetUp() override {
        if (!is_root()) GTEST_SKIP() << "needs root (BPF)";
        out_ = fs::temp_directory_path() / ("swamp-recovery-" + std::to_string(getpid()));
        fs::remove_all(out_);
        fs::create_directories(out_);
    }
    void TearDown() override {
        if (IsSkipped()) return;
        if (something_held()) unstick();
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
    Child swamp = spawn({"/usr/bin/setsid", SWAMP_BIN, "-q", "--action", GetParam(), "--mem-budget", "500M", "--",
                         "/bin/sh", "-c", inner});
    ASSERT_TRUE(wait_until_held()) << "no job was ever stopped";
    pid_t controller = find_swamp("--mem-budget");
    ASSERT_GT(controller, 0);
    ASSERT_EQ(kill(controller, SIGKILL), 0);
    auto killed = std::chrono::steady_clock::now();
    while (something_held() && std::chrono::steady_clock::now() - killed < std::chrono::seconds(5)) usleep(2000);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - killed).count();
    std::string ignored;
    finish(swamp, ignored);
    std::printf("[ figures  ] %s: everything resumed %.1f ms after SIGKILL of the controller\n", GetParam(), ms);
    EXPECT_FALSE(something_held());
    EXPECT_LT(ms, 1000.0) << "the promise: within 1 s";
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
    Child first = spawn({SWAMP_BIN, "-q", "--action", GetParam(), "--mem-budget", "500M", "--root-pid",
                         std::to_string(build.pid)});
    ASSERT_TRUE(wait_until_held()) << "no job was ever stopped";
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
    if (!something_held()) {
        unstick();
        GTEST_SKIP() << "every job had just been resumed when the controller stopped; nothing to recover";
    }
    EXPECT_TRUE(fs::exists(state)) << "the state file of the killed instance";

    std::string log = (out_ / "second.log").string();
    Child second = spawn({"/bin/sh", "-c", std::string(SWAMP_BIN) + " --action " + GetParam() +
                                               " --mem-budget 500M --root-pid " + std::to_string(build.pid) + " 2>" +
                                               log});
    int status = finish(build, ignored);
    finish(second, ignored);
    std::string text = slurp(log);
    EXPECT_EQ(status, 0) << text;
    EXPECT_TRUE(build_complete());
    std::string says = std::string(GetParam()) == "freeze" ? "thawed 1 frozen cgroup" : "resumed ";
    EXPECT_NE(text.find(says), std::string::npos) << text;
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
                          " --ringbuf-size 4K --mem-budget 8G -- /bin/sh -c 'for i in $(seq 400); do /bin/true & done; "
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
