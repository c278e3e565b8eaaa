// Nothing stopped forever, and nothing resumed that was not ours (issue 13,
// items 1 to 4): real builds under a real controller.
//  - a held job whose process execs a driver (recursive make) runs again;
//  - a stopped process that left the tree (daemonized) survives a resync;
//  - a dead watchdog makes the controller resume everything and exit;
//  - a process the user stopped stays stopped (ctl resume, the deadlock guard);
//  - Ctrl-Z in a terminal suspends the build with the controller, and `bg`
//    lets held jobs stay held.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>

#include "run_util.hpp"

using namespace swamp::test;
namespace fs = std::filesystem;

namespace {

char state_of(pid_t pid) {
    for (const ProcInfo& p : processes())
        if (p.pid == pid) return p.state;
    return 0;
}

class StoppedTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (std::string why = missing_root_or_memcg(); !why.empty()) GTEST_SKIP() << why;
        dir_ = fresh_dir("stopped");
        sock_ = (dir_ / "run" / "ctl.sock").string();
        marker_ = "SWAMP_STOPPED_TEST=" + std::to_string(getpid());
    }
    void TearDown() override {
        if (IsSkipped()) return;
        for (pid_t pid : extra_) kill(pid, SIGKILL), waitpid(pid, nullptr, 0);
        if (swamp_.pid > 0) {  // a failed test: let the controller resume everything and end
            kill(swamp_.pid, SIGTERM);
            std::string ignored;
            finish(swamp_, ignored);
        }
        auto left = stopped_build_processes(marker_);
        EXPECT_TRUE(left.empty()) << "a build process was left stopped: " << left.front();
        for (const ProcInfo& p : mine()) kill(p.pid, SIGCONT), kill(p.pid, SIGKILL);
        fs::remove_all(dir_);
    }

    // Every live process of this test's build (zombies excluded), optionally only those named `comm`.
    std::vector<ProcInfo> mine(const std::string& comm = "") {
        std::vector<ProcInfo> out;
        for (const ProcInfo& p : processes())
            if (p.state != 'Z' && (comm.empty() || p.comm == comm) && has_env(p.pid, marker_)) out.push_back(p);
        return out;
    }
    // Starts argv with the marker in its environment, stdout and stderr to `log`.
    Child start(const std::vector<std::string>& argv, const fs::path& log) {
        std::vector<std::string> full{"/usr/bin/env", marker_, "/bin/sh", "-c", "exec \"$@\" >\"$0\" 2>&1",
                                      log.string()};
        full.insert(full.end(), argv.begin(), argv.end());
        return spawn(full);
    }
    std::string text(const fs::path& f) { return file_text(f.string()); }
    // "PID PPID COMM STATE" of each process of the build, for failure messages.
    std::string states() {
        std::string out;
        for (const ProcInfo& p : mine())
            out += std::to_string(p.pid) + " " + std::to_string(p.ppid) + " " + p.comm + " " + p.state + "\n";
        return out;
    }
    // The controller's wait status; -1 if it still runs after `seconds`.
    int wait_swamp(double seconds) {
        int status = -1;
        if (!wait_until([&] { return waitpid(swamp_.pid, &status, WNOHANG) == swamp_.pid; }, seconds)) return -1;
        close(swamp_.out_fd);
        swamp_.pid = -1;
        return status;
    }
    int ctl(const std::vector<std::string>& args) {
        std::string out;
        return run_ctl(sock_, args, out);
    }
    std::string hog(int mib, double cpu_s, const std::string& out) {
        return std::string(HOG_BIN) + " --mib " + std::to_string(mib) + " --cpu-s " + std::to_string(cpu_s) +
               " --out " + out;
    }

    fs::path dir_;
    std::string sock_, marker_;
    Child swamp_;
    std::vector<pid_t> extra_;  // processes to kill at the end
};

// 1. A held job whose process execs a driver: `env make -C sub` is held at its
//    exec of env, and the SIGSTOP lands on the make it has become by then. The
//    job dissolves into the sub-make's jobs; the sub-make must run again, or
//    the build hangs for ever (it did: the actuator forgot it stopped).
TEST_F(StoppedTest, HeldJobThatBecomesADriverRunsAgain) {
    fs::create_directories(dir_ / "sub");
    std::ofstream(dir_ / "sub" / "Makefile") << "all:\n\t" << hog(10, 0.3, "$(OUT)/sub-$(N)") << "\n";
    std::string mk = "all: $(OUT)/long";
    std::string rules = "$(OUT)/long:\n\t" + hog(20, 4, "$@") + "\n";
    for (int i = 0; i < 4; i++) {
        mk += " $(OUT)/r" + std::to_string(i);
        rules += "$(OUT)/r" + std::to_string(i) + ":\n\tenv $(MAKE) -s -C " + (dir_ / "sub").string() +
                 " N=" + std::to_string(i) + " OUT=$(OUT)\n\ttouch $@\n";
    }
    std::ofstream(dir_ / "Makefile") << mk << "\n" << rules;
    fs::path log = dir_ / "swamp.log";
    swamp_ = start({SWAMP_BIN, "--no-history", "--max-running", "1", "--trace-json", "--trace-output",
                    (dir_ / "trace.jsonl").string(), "--", "/usr/bin/make", "-s", "-f", (dir_ / "Makefile").string(),
                    "OUT=" + dir_.string(), "-j3"},
                   log);
    int status = wait_swamp(90);
    ASSERT_NE(status, -1) << "the build hung; its processes:\n" << states() << text(log);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << '\n' << text(log);
    for (int i = 0; i < 4; i++) EXPECT_TRUE(fs::exists(dir_ / ("sub-" + std::to_string(i)))) << i << '\n' << text(log);
    // the test tested something: some sub-make was held at exec
    std::string trace = text(dir_ / "trace.jsonl");
    EXPECT_NE(trace.find("\"action\":\"hold\""), std::string::npos) << "nothing was held";
}

// 1 (deterministic). A job whose processes are stopped by `ctl pause`, one of
//    which someone else continues (kill -CONT) and which then execs make: the
//    job dissolves, and its wrapper shell, stopped by us, must run again, or
//    it never reaps the sub-make and the build hangs.
TEST_F(StoppedTest, StoppedJobThatDissolvesIsResumed) {
    fs::create_directories(dir_ / "sub");
    std::ofstream(dir_ / "sub" / "Makefile") << "all:\n\t" << hog(10, 0.3, "$(OUT)/sub-out") << "\n";
    fs::path fifo = dir_ / "go";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    std::ofstream(dir_ / "Makefile") << "all:\n\t( read x < " << fifo.string() << "; exec $(MAKE) -s -C "
                                     << (dir_ / "sub").string() << " OUT=$(OUT) ); true\n";
    fs::path log = dir_ / "swamp.log";
    swamp_ = start({SWAMP_BIN, "--no-history", "--socket", sock_, "--", "/usr/bin/make", "-s", "-f",
                    (dir_ / "Makefile").string(), "OUT=" + dir_.string()},
                   log);
    // make -> sh (the job's root) -> sh (the subshell, waiting on the fifo)
    pid_t outer = 0, inner = 0;
    ASSERT_TRUE(wait_until([&] {
        auto shs = mine("sh");
        for (const ProcInfo& a : shs)
            for (const ProcInfo& b : shs)
                if (b.ppid == a.pid) outer = a.pid, inner = b.pid;
        return inner > 0 && fs::exists(sock_);
    }, 15)) << text(log);
    ASSERT_EQ(ctl({"pause"}), 0);
    ASSERT_TRUE(wait_until([&] { return state_of(outer) == 'T' && state_of(inner) == 'T'; }, 5)) << text(log);
    kill(inner, SIGCONT);  // someone else continues it; it goes on to exec make
    {
        std::ofstream go(fifo);
        go << "go\n";
    }
    ASSERT_TRUE(wait_until([&] { return mine("make").size() >= 2; }, 10)) << "the sub-make never started\n" << states();
    ASSERT_EQ(ctl({"resume"}), 0);
    int status = wait_swamp(60);
    ASSERT_NE(status, -1) << "the build hung; its processes:\n" << states() << text(log);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << '\n' << text(log);
    EXPECT_TRUE(fs::exists(dir_ / "sub-out")) << text(log);
}

// 2. A stopped process that left the build's tree (daemonized: its parent
//    exited, so it was reparented away from make) is still ours when a
//    ring-buffer overflow makes the controller resync from /proc: it is kept,
//    and resumed, not forgotten stopped. A protected fork storm keeps running
//    through `ctl pause` and overflows a small ring buffer.
TEST_F(StoppedTest, ResyncKeepsAStoppedDaemonizedProcess) {
    std::string daemon = "sh -c '( " + hog(30, 3, "$(OUT)/daemon") + " & ) ; true'";
    std::string storm = std::string(FORK_STORM_BIN) + " --rate 1500 --seconds 10 --helper " + STORM_TRUE_BIN;
    // w (protected, as sleep is here) keeps the build going once the storm is over
    std::ofstream(dir_ / "Makefile") << "all: $(OUT)/d $(OUT)/s w\n"
                                     << "$(OUT)/d:\n\t" << daemon << "\n\ttouch $@\n"
                                     << "$(OUT)/s:\n\t" << storm << " --report $@\n"
                                     << "w:\n\tsleep 60\n";
    fs::path log = dir_ / "swamp.log";
    swamp_ = start({SWAMP_BIN, "--no-history", "--ringbuf-size", "4K", "--protect", "fork_storm,storm_true,sleep",
                    "--socket", sock_, "--", "/usr/bin/make", "-s", "-f", (dir_ / "Makefile").string(),
                    "OUT=" + dir_.string(), "-j3"},
                   log);
    pid_t daemon_pid = 0;
    ASSERT_TRUE(wait_until([&] {
        auto h = mine("hog");
        daemon_pid = h.empty() ? 0 : h.front().pid;
        return daemon_pid && fs::exists(dir_ / "d");  // its parents are gone
    }, 20)) << text(log);
    ASSERT_EQ(ctl({"pause"}), 0);
    ASSERT_TRUE(wait_until([&] { return state_of(daemon_pid) == 'T'; }, 5)) << "pause did not stop the daemon";
    // the storm runs on (protected) and overflows the ring buffer: resyncs while the daemon is stopped
    ASSERT_TRUE(wait_until([&] { return mine("fork_storm").empty() && fs::exists(dir_ / "s"); }, 60)) << text(log);
    EXPECT_EQ(state_of(daemon_pid), 'T') << "the daemon should still be paused";
    ASSERT_EQ(ctl({"resume"}), 0);
    EXPECT_TRUE(wait_until([&] { return state_of(daemon_pid) != 'T'; }, 5))
        << "the daemon stays stopped after ctl resume: the resync forgot it\n" << text(log);
    kill(swamp_.pid, SIGTERM);
    int status = wait_swamp(60);
    ASSERT_NE(status, -1) << text(log);
    std::string out = text(log);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(out, m, std::regex("([0-9]+) resyncs from /proc"))) << "no event was lost, so "
                                                                                        "nothing was resynced:\n"
                                                                                     << out;
    EXPECT_GE(std::stoi(m[1]), 1);
    EXPECT_TRUE(wait_until([&] { return fs::exists(dir_ / "daemon"); }, 30)) << "the daemon never finished";
}

// 3. The watchdog dies (--root-pid mode): the controller must not run on
//    without it. It resumes everything and exits 1 with a clear message.
TEST_F(StoppedTest, DeadWatchdogMakesTheControllerResumeAndExit) {
    std::ofstream(dir_ / "Makefile") << "all: $(OUT)/a $(OUT)/b\n"
                                     << "$(OUT)/a:\n\t" << hog(20, 6, "$@") << "\n"
                                     << "$(OUT)/b:\n\t" << hog(20, 6, "$@") << "\n";
    Child build = start({"/usr/bin/make", "-s", "-f", (dir_ / "Makefile").string(), "OUT=" + dir_.string(), "-j2"},
                        dir_ / "make.log");
    extra_.push_back(build.pid);
    pid_t make = 0;
    ASSERT_TRUE(wait_until([&] { auto m = mine("make"); return (make = m.empty() ? 0 : m.front().pid) > 0; }, 10));
    fs::path log = dir_ / "swamp.log";
    swamp_ = start({SWAMP_BIN, "--no-history", "--max-running", "1", "--root-pid", std::to_string(make)}, log);
    ASSERT_TRUE(wait_until([&] {
        auto h = mine("hog");
        return std::count_if(h.begin(), h.end(), [](const ProcInfo& p) { return p.state == 'T'; }) == 1;
    }, 15)) << "no hog was stopped\n" << text(log);
    pid_t watchdog = 0;
    for (const ProcInfo& p : mine("swamp-watchdog")) watchdog = p.pid;
    ASSERT_GT(watchdog, 0);
    ASSERT_EQ(kill(watchdog, SIGKILL), 0);
    int status = wait_swamp(10);
    ASSERT_NE(status, -1) << "the controller runs on without its watchdog\n" << text(log);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
    EXPECT_NE(text(log).find("the watchdog (pid " + std::to_string(watchdog) + ") died: resuming every job"),
              std::string::npos)
        << text(log);
    EXPECT_TRUE(stopped_build_processes(marker_).empty()) << "a hog stays stopped";
    int build_status = -1;
    ASSERT_TRUE(wait_until([&] { return waitpid(build.pid, &build_status, WNOHANG) == build.pid; }, 60));
    extra_.clear();
    close(build.out_fd);
    EXPECT_TRUE(WIFEXITED(build_status) && WEXITSTATUS(build_status) == 0) << text(dir_ / "make.log");
}

// 4a. A process the user stopped before us, or while we run, stays stopped:
//     `ctl pause` then `ctl resume` does not continue it.
TEST_F(StoppedTest, ProcessStoppedByTheUserIsNeverResumedByUs) {
    std::ofstream(dir_ / "Makefile") << "all: $(OUT)/a $(OUT)/b\n"
                                     << "$(OUT)/a:\n\t" << hog(20, 3, "$@") << "\n"
                                     << "$(OUT)/b:\n\t" << hog(20, 3, "$@") << "\n";
    Child build = start({"/usr/bin/make", "-s", "-f", (dir_ / "Makefile").string(), "OUT=" + dir_.string(), "-j2"},
                        dir_ / "make.log");
    extra_.push_back(build.pid);
    std::vector<ProcInfo> hogs;
    ASSERT_TRUE(wait_until([&] { return (hogs = mine("hog")).size() == 2; }, 10));
    pid_t users = hogs[0].pid, other = hogs[1].pid;
    ASSERT_EQ(kill(users, SIGSTOP), 0);  // the user stops one job before swamp-bpf comes
    ASSERT_TRUE(wait_until([&] { return state_of(users) == 'T'; }, 5));
    fs::path log = dir_ / "swamp.log";
    pid_t make = mine("make").front().pid;
    swamp_ = start({SWAMP_BIN, "--no-history", "--socket", sock_, "--root-pid", std::to_string(make)}, log);
    ASSERT_TRUE(wait_until([&] { return fs::exists(sock_); }, 15)) << text(log);
    ASSERT_EQ(ctl({"pause"}), 0);
    ASSERT_TRUE(wait_until([&] { return state_of(other) == 'T'; }, 5));
    ASSERT_EQ(ctl({"resume"}), 0);
    ASSERT_TRUE(wait_until([&] { return state_of(other) != 'T'; }, 5)) << "ctl resume did not resume our stop";
    usleep(500 * 1000);
    EXPECT_EQ(state_of(users), 'T') << "swamp-bpf resumed a process the user had stopped";
    // the user continues it; the build ends
    kill(users, SIGCONT);
    int build_status = -1;
    ASSERT_TRUE(wait_until([&] { return waitpid(build.pid, &build_status, WNOHANG) == build.pid; }, 60));
    extra_.clear();
    close(build.out_fd);
    EXPECT_TRUE(WIFEXITED(build_status) && WEXITSTATUS(build_status) == 0);
    ASSERT_NE(wait_swamp(10), -1) << text(log);
}

// 4b. The user stops the whole build (kill -STOP of every process): a
//     stopped running job makes no CPU progress, and the deadlock guard must
//     not take that for a deadlock and continue a job the user stopped.
TEST_F(StoppedTest, DeadlockGuardLeavesABuildTheUserStoppedAlone) {
    std::ofstream(dir_ / "Makefile") << "all: $(OUT)/a $(OUT)/b\n"
                                     << "$(OUT)/a:\n\t" << hog(20, 3, "$@") << "\n"
                                     << "$(OUT)/b:\n\t" << hog(20, 3, "$@") << "\n";
    fs::path log = dir_ / "swamp.log";
    swamp_ = start({SWAMP_BIN, "--no-history", "--max-running", "1", "--trace-json", "--trace-output",
                    (dir_ / "trace.jsonl").string(), "--", "/usr/bin/make", "-s", "-f", (dir_ / "Makefile").string(),
                    "OUT=" + dir_.string(), "-j2"},
                   log);
    std::vector<ProcInfo> hogs;
    ASSERT_TRUE(wait_until([&] {
        hogs = mine("hog");
        return hogs.size() == 2 && std::count_if(hogs.begin(), hogs.end(), [](auto& p) { return p.state == 'T'; }) == 1;
    }, 15)) << text(log);
    for (const ProcInfo& p : mine())  // the user's kill -STOP of the build, not of swamp-bpf
        if (p.comm == "hog" || p.comm == "make" || p.comm == "sh") kill(p.pid, SIGSTOP);
    sleep(8);  // longer than the guard's 5 s
    for (const ProcInfo& h : hogs) EXPECT_EQ(state_of(h.pid), 'T') << "hog " << h.pid << " was continued";
    EXPECT_EQ(text(dir_ / "trace.jsonl").find("deadlock guard"), std::string::npos) << "the deadlock guard fired";
    for (const ProcInfo& p : mine())
        if (p.comm == "hog" || p.comm == "make" || p.comm == "sh") kill(p.pid, SIGCONT);
    int status = wait_swamp(60);
    ASSERT_NE(status, -1) << text(log);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << text(log);
}

// A shell with job control on a pseudo-terminal, as a user's terminal.
class Terminal {
public:
    explicit Terminal(const std::string& marker) {
        master_ = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        grantpt(master_);
        unlockpt(master_);
        std::string slave = ptsname(master_);
        pid_ = fork();
        if (pid_ == 0) {
            setsid();
            int fd = open(slave.c_str(), O_RDWR);
            ioctl(fd, TIOCSCTTY, 0);
            dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
            if (fd > 2) close(fd);
            putenv(const_cast<char*>(marker.c_str()));
            execl("/bin/bash", "bash", "--norc", "--noprofile", "-i", nullptr);
            _exit(127);
        }
        fcntl(master_, F_SETFL, O_NONBLOCK);
    }
    ~Terminal() {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        close(master_);
    }
    void type(const std::string& keys) { (void)!write(master_, keys.data(), keys.size()); }
    // Reads what is pending (so the shell never blocks on a full terminal).
    void drain() {
        char buf[4096];
        while (read(master_, buf, sizeof buf) > 0) {
        }
    }

private:
    int master_ = -1;
    pid_t pid_ = -1;
};

// 4c. Ctrl-Z in the terminal of `swamp-bpf -- make`: the controller stops with
//     the build instead of being stopped blindly, and after `bg` (which
//     continues the whole group) a held job is held again, not left running
//     behind the controller's back.
TEST_F(StoppedTest, CtrlZSuspendsWithTheBuildAndBgKeepsHeldJobsHeld) {
    std::ofstream(dir_ / "Makefile") << "all: $(OUT)/a $(OUT)/b\n"
                                     << "$(OUT)/a:\n\t" << hog(20, 3, "$@") << "\n"
                                     << "$(OUT)/b:\n\t" << hog(20, 3, "$@") << "\n";
    Terminal term(marker_);
    fs::path log = dir_ / "swamp.log";
    term.type(std::string(SWAMP_BIN) + " --no-history --max-running 1 -- /usr/bin/make -s -f " +
              (dir_ / "Makefile").string() + " OUT=" + dir_.string() + " -j2 2>" + log.string() + "\n");
    std::vector<ProcInfo> hogs;
    auto count = [&](char state) {
        hogs = mine("hog");
        return std::count_if(hogs.begin(), hogs.end(), [&](auto& p) { return p.state == state; });
    };
    ASSERT_TRUE(wait_until([&] { term.drain(); return count('T') == 1 && hogs.size() == 2; }, 15)) << text(log);
    pid_t held = 0;
    for (const ProcInfo& h : hogs)
        if (h.state == 'T') held = h.pid;
    pid_t controller = find_swamp(dir_.string());
    ASSERT_GT(controller, 0);

    term.type("\x1a");  // Ctrl-Z
    ASSERT_TRUE(wait_until([&] { term.drain(); return count('T') == 2 && state_of(controller) == 'T'; }, 5))
        << "Ctrl-Z did not suspend the controller with the build\n" << text(log);
    term.type("bg\n");
    ASSERT_TRUE(wait_until([&] { term.drain(); return state_of(controller) != 'T'; }, 5)) << text(log);
    usleep(500 * 1000);
    term.drain();
    EXPECT_EQ(state_of(held), 'T') << "after bg the held job runs behind the controller's back\n" << text(log);
    EXPECT_EQ(count('T'), 1) << "after bg the running job should run again";
    EXPECT_NE(text(log).find("suspended by SIGTSTP with the build"), std::string::npos) << text(log);
    // the build ends as usual
    ASSERT_TRUE(wait_until([&] { term.drain(); char s = state_of(controller); return s == 0 || s == 'Z'; }, 60))
        << text(log);
    EXPECT_TRUE(fs::exists(dir_ / "a") && fs::exists(dir_ / "b")) << text(log);
}

}  // namespace

namespace {

// A command that exits at once: its exit may come from the watchdog in the same
// read as its start; the controller must still see it (it hung for good, now
// and then, before).
TEST_F(StoppedTest, ACommandThatExitsAtOnceNeverHangs) {
    for (int i = 0; i < 30; i++) {
        swamp_ = start({SWAMP_BIN, "-q", "--no-history", "--", "/bin/true"}, dir_ / "swamp.log");
        int status = wait_swamp(20);
        ASSERT_NE(status, -1) << "run " << i << " hung\n" << text(dir_ / "swamp.log");
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    }
}

}  // namespace
