// Open-file limits (issue 13, item 5), with real processes: the controller
// raises RLIMIT_NOFILE to what --max-tasks needs (and the build keeps its
// own); where it cannot, the processes it cannot hold run unmanaged and it
// says so; a watchdog out of file descriptors makes the controller refuse the
// stop instead of leaving it unguarded; a ctl client that cannot be accepted
// (EMFILE) does not spin the controller's loop.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "run_util.hpp"

using namespace swamp::test;
namespace fs = std::filesystem;

namespace {

// The soft "Max open files" of a process, from /proc/PID/limits; 0 if unknown.
uint64_t soft_nofile(pid_t pid) {
    std::istringstream in(file_text("/proc/" + std::to_string(pid) + "/limits"));
    for (std::string line; std::getline(in, line);)
        if (line.rfind("Max open files", 0) == 0) return std::stoull(line.substr(26));
    return 0;
}

// utime + stime of a process, in clock ticks.
uint64_t cpu_ticks(pid_t pid) {
    std::string s = file_text("/proc/" + std::to_string(pid) + "/stat");
    size_t close = s.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream in(s.substr(close + 2));
    std::string field;
    uint64_t utime = 0, stime = 0;
    for (int i = 3; i <= 15 && in >> field; i++) {
        if (i == 14) utime = std::stoull(field);
        if (i == 15) stime = std::stoull(field);
    }
    return utime + stime;
}

void set_soft_nofile(pid_t pid, uint64_t soft) {
    rlimit r{};
    ASSERT_EQ(prlimit(pid, RLIMIT_NOFILE, nullptr, &r), 0) << strerror(errno);
    r.rlim_cur = soft;
    ASSERT_EQ(prlimit(pid, RLIMIT_NOFILE, &r, nullptr), 0) << strerror(errno);
}

class FdLimitTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (std::string why = missing_root_or_memcg(); !why.empty()) GTEST_SKIP() << why;
        dir_ = fresh_dir("fds");
        sock_ = (dir_ / "run" / "ctl.sock").string();
        marker_ = "SWAMP_FD_TEST=" + std::to_string(getpid());
    }
    void TearDown() override {
        if (IsSkipped()) return;
        if (swamp_ > 0 && kill(swamp_, 0) == 0) kill(swamp_, SIGTERM);
        if (swamp_ > 0) waitpid(swamp_, nullptr, 0);
        std::vector<std::string> left = stopped_build_processes(marker_);
        for (const ProcInfo& p : processes())  // the build: sleeps and make
            if (has_env(p.pid, marker_)) kill(p.pid, SIGCONT), kill(p.pid, SIGKILL);
        EXPECT_TRUE(left.empty()) << "left stopped: " << left.front();
        fs::remove_all(dir_);
    }

    // `prlimit --nofile=NOFILE swamp-bpf ARGS… -- make -jN` of `sleeps` sleeps,
    // stdout and stderr into log().
    void start(const std::string& nofile, int sleeps, std::vector<std::string> args) {
        std::ofstream mk(dir_ / "Makefile");
        mk << ".PHONY: all";
        for (int i = 0; i < sleeps; i++) mk << " t" << i;
        mk << "\nall:";
        for (int i = 0; i < sleeps; i++) mk << " t" << i;
        mk << "\n";
        for (int i = 0; i < sleeps; i++) mk << "t" << i << ":\n\tsleep 60\n";
        mk.close();
        std::vector<std::string> argv{"/usr/bin/prlimit", "--nofile=" + nofile, SWAMP_BIN, "--no-history",
                                      "--socket", sock_};
        argv.insert(argv.end(), args.begin(), args.end());
        for (std::string a : std::vector<std::string>{"--", "/usr/bin/make", "-s", "-j" + std::to_string(sleeps), "-f",
                              (dir_ / "Makefile").string()})
            argv.push_back(a);
        std::string log = (dir_ / "log").string();
        swamp_ = fork();
        if (swamp_ == 0) {
            putenv(const_cast<char*>(marker_.c_str()));
            int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            dup2(fd, 1);
            dup2(fd, 2);
            std::vector<char*> v;
            for (auto& a : argv) v.push_back(a.data());
            v.push_back(nullptr);
            execv(v[0], v.data());
            _exit(127);
        }
        ASSERT_TRUE(wait_until([&] { return sleepers().size() == size_t(sleeps) && running_jobs() == sleeps; }, 30))
            << log_text();
    }
    std::string log_text() { return file_text((dir_ / "log").string()); }
    std::vector<pid_t> sleepers() {
        std::vector<pid_t> out;
        for (const ProcInfo& p : processes())
            if (p.comm == "sleep" && has_env(p.pid, marker_)) out.push_back(p.pid);
        return out;
    }
    int stopped_sleepers() {
        int n = 0;
        for (const ProcInfo& p : processes())
            if (p.comm == "sleep" && p.state == 'T' && has_env(p.pid, marker_)) n++;
        return n;
    }
    pid_t watchdog() {
        for (const ProcInfo& p : processes())
            if (p.ppid == swamp_ && p.comm == "swamp-watchdog") return p.pid;
        return -1;
    }
    int ctl(const std::vector<std::string>& args, std::string& out) {
        return run_ctl(sock_, args, out);
    }
    int running_jobs() {
        std::string out;
        if (ctl({"status", "--json"}, out) != 0) return -1;
        int n = 0;
        for (const auto& j : nlohmann::json::parse(out).value("jobs", nlohmann::json::array())) n += j["state"] == "running";
        return n;
    }
    // SIGKILL the controller: its watchdog resumes what it holds, and only that.
    void kill_controller() {
        kill(swamp_, SIGKILL);
        waitpid(swamp_, nullptr, 0);
        swamp_ = -1;
    }

    fs::path dir_;
    std::string sock_, marker_;
    pid_t swamp_ = -1;
};

TEST_F(FdLimitTest, LimitIsRaisedToWhatMaxTasksNeeds) {
    rlimit ours{};
    getrlimit(RLIMIT_NOFILE, &ours);
    if (ours.rlim_max < 4096 + 256) GTEST_SKIP() << "hard RLIMIT_NOFILE below 4352 here";
    start("64:" + std::to_string(ours.rlim_max), 2, {"--max-tasks", "4096"});
    EXPECT_EQ(soft_nofile(swamp_), 4096u + 256) << log_text();  // --max-tasks + the controller's own
    EXPECT_EQ(soft_nofile(watchdog()), 4096u + 256);
    for (pid_t p : sleepers()) EXPECT_EQ(soft_nofile(p), 64u) << "the build keeps the limit it was started with";
    EXPECT_EQ(log_text().find("open-file limit"), std::string::npos) << log_text();
}

TEST_F(FdLimitTest, ProcessesBeyondTheLimitRunUnmanagedAndSaySo) {
    // hard and soft 266: room for the controller's own 256 and 10 pidfds, not for 20
    start("266:266", 20, {});
    EXPECT_NE(log_text().find("the open-file limit is 266 (hard 266) and cannot be raised"), std::string::npos)
        << log_text();
    EXPECT_NE(log_text().find("cannot hold pid"), std::string::npos) << log_text();
    std::string out;
    ASSERT_EQ(ctl({"pause"}, out), 0) << out;
    ASSERT_TRUE(wait_until([&] { return stopped_sleepers() > 0; }, 10)) << log_text();
    usleep(500 * 1000);
    int stopped = stopped_sleepers();
    EXPECT_LT(stopped, 20) << "processes it could not hold must run on";
    // what is stopped is held by the watchdog: it all runs again when the controller dies
    kill_controller();
    EXPECT_TRUE(wait_until([&] { return stopped_sleepers() == 0; }, 10))
        << stopped_sleepers() << " of " << stopped << " stopped sleeps left stopped, unguarded";
}

TEST_F(FdLimitTest, WatchdogOutOfFdsMakesTheControllerRefuseTheStop) {
    start("1024:20000", 3, {});
    pid_t w = watchdog();
    ASSERT_GT(w, 0);
    set_soft_nofile(w, 5);  // its pipes and stdio: no room for a pidfd
    std::string out;
    ASSERT_EQ(ctl({"pause"}, out), 0) << out;
    EXPECT_TRUE(wait_until([&] { return log_text().find("the watchdog cannot hold pid") != std::string::npos; }, 10))
        << log_text();
    usleep(500 * 1000);
    EXPECT_EQ(stopped_sleepers(), 0) << "a stop the watchdog cannot guard must not be made";
    kill_controller();
    EXPECT_TRUE(wait_until([&] { return stopped_sleepers() == 0; }, 10))
        << stopped_sleepers() << " sleeps left stopped after the controller died";
}

TEST_F(FdLimitTest, CtlFloodUnderFdLimitDoesNotSpin) {
    start("1024:20000", 1, {});
    uint64_t soft = soft_nofile(swamp_);
    set_soft_nofile(swamp_, 3);  // every new fd, an accepted client's too, fails with EMFILE
    std::vector<int> clients;
    for (int i = 0; i < 20; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        strncpy(a.sun_path, sock_.c_str(), sizeof a.sun_path - 1);
        (void)!connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);  // pending, or refused: the backlog is full
        clients.push_back(fd);
    }
    usleep(200 * 1000);
    uint64_t before = cpu_ticks(swamp_);
    auto t0 = std::chrono::steady_clock::now();
    sleep(2);
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double cpu = double(cpu_ticks(swamp_) - before) / sysconf(_SC_CLK_TCK);
    std::cerr << "[ figures ] controller CPU with pending clients it cannot accept: " << cpu << " s in " << wall
              << " s\n";
    EXPECT_LT(cpu, 0.1 * wall) << "the controller spins on a client it cannot accept";
    set_soft_nofile(swamp_, soft);
    for (int fd : clients) close(fd);
    EXPECT_TRUE(wait_until([&] { return running_jobs() == 1; }, 10)) << "ctl must work again once fds are free";
    EXPECT_NE(log_text().find("ctl: cannot accept a connection: Too many open files"), std::string::npos)
        << log_text();
}

}  // namespace
