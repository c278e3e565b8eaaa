// Live control of a real controller over its socket: ctl status lists the
// jobs, pause really stops them (T in /proc), resume, limit 1, drain; a
// non-root peer is refused and changes nothing; the status and metrics files
// follow the run and keep a final state; the socket goes away at exit.
#include <gtest/gtest.h>
#include <grp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <sstream>

#include "run_util.hpp"
#include "util/printable.hpp"

using namespace swamp::test;
namespace fs = std::filesystem;

namespace {

constexpr uid_t kNobody = 65534;

// argv run as uid/gid nobody, stdout and stderr captured; returns the exit code.
int run_as_nobody(const std::vector<std::string>& argv, std::string& out) {
    Child c = spawn_as(argv, kNobody);
    int status = finish(c, out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// As nobody: connect to `sock`, send `request`, return what came back.
std::string raw_request_as_nobody(const std::string& sock, const std::string& request) {
    int p[2];
    if (pipe(p)) return "pipe failed";
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        std::string reply;
        if (setgroups(0, nullptr) || setresgid(kNobody, kNobody, kNobody) || setresuid(kNobody, kNobody, kNobody)) {
            reply = "setresuid failed";
        } else {
            int fd = socket(AF_UNIX, SOCK_STREAM, 0);
            sockaddr_un a{};
            a.sun_family = AF_UNIX;
            strncpy(a.sun_path, sock.c_str(), sizeof a.sun_path - 1);
            if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
                reply = std::string("connect: ") + strerror(errno);
            } else {
                (void)!write(fd, request.data(), request.size());
                char buf[512];
                ssize_t n;
                while ((n = read(fd, buf, sizeof buf)) > 0) reply.append(buf, size_t(n));
            }
        }
        (void)!write(p[1], reply.data(), reply.size());
        _exit(0);
    }
    close(p[1]);
    Child c{pid, p[0]};
    std::string out;
    finish(c, out);
    return out;
}

// What `promtool check metrics` says of a metrics file ("" when it is clean).
std::string promtool_problems(const std::string& metrics) {
    if (system("command -v promtool >/dev/null") != 0)
        return "promtool is not installed (scripts/deps.sh --test installs prometheus)";
    fs::path file = fs::temp_directory_path() / ("swamp-metrics-" + std::to_string(getpid()) + ".prom");
    std::ofstream(file) << metrics;
    std::string out;
    int status = run({"/bin/sh", "-c", "promtool check metrics < \"$0\" 2>&1", file.string()}, out);
    fs::remove(file);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? out : "exit " + std::to_string(status) + ": " + out;
}

std::map<std::string, std::string> key_values(const std::string& text) {
    std::map<std::string, std::string> kv;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (size_t eq = line.find('='); eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
    return kv;
}

class LiveControlTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (std::string why = missing_root_or_memcg(); !why.empty()) GTEST_SKIP() << why;
        dir_ = fresh_dir("live");
        sock_ = (dir_ / "run" / "ctl.sock").string();  // run/ is made by swamp-bpf, 0755
        marker_ = "SWAMP_LIVE_TEST=" + std::to_string(getpid());
    }
    void TearDown() override {
        if (IsSkipped()) return;
        if (swamp_.pid > 0) {  // a failed test: let the controller resume everything and end the build
            kill(swamp_.pid, SIGTERM);
            std::string ignored;
            finish(swamp_, ignored);
        }
        EXPECT_TRUE(stopped_build_processes(marker_).empty()) << "a build process was left stopped";
        fs::remove_all(dir_);
    }

    // `swamp-bpf ctl --socket SOCK ARGS…` as root; returns its exit code.
    int ctl(const std::vector<std::string>& args, std::string& out) {
        return run_ctl(sock_, args, out);
    }
    // A symlink to /bin/sleep named `name` (its comm is the first 15 bytes).
    std::string sleeper(const std::string& name) {
        fs::path p = dir_ / name;
        fs::create_symlink("/bin/sleep", p);
        return p.string();
    }
    nlohmann::json status_json() {
        std::string out;
        if (ctl({"status", "--json"}, out) != 0) return nlohmann::json::object();
        return nlohmann::json::parse(out);
    }
    // The build's hogs by state: how many are in T, how many are not.
    std::pair<int, int> hogs_stopped_running() {
        int stopped = 0, running = 0;
        for (const ProcInfo& p : processes()) {
            if (p.comm != "hog" || !has_env(p.pid, marker_)) continue;
            (p.state == 'T' ? stopped : running)++;
        }
        return {stopped, running};
    }
    int jobs_in(const nlohmann::json& s, const std::string& state) {
        int n = 0;
        for (const auto& j : s.value("jobs", nlohmann::json::array())) n += j["state"] == state;
        return n;
    }

    fs::path dir_;
    std::string sock_, marker_;
    Child swamp_;
};

TEST_F(LiveControlTest, StatusPauseResumeLimitDrainAndRefusal) {
    // three 4-CPU-s jobs at once, then a fourth that needs the first
    std::string hog = std::string(HOG_BIN) + " --mib 40 --shape ramp";
    std::ofstream(dir_ / "Makefile") << "all: $(OUT)/b $(OUT)/c $(OUT)/d\n"
                                     << "$(OUT)/a:\n\t" << hog << " --cpu-s 4 --out $@\n"
                                     << "$(OUT)/b:\n\t" << hog << " --cpu-s 4 --out $@\n"
                                     << "$(OUT)/c:\n\t" << hog << " --cpu-s 4 --out $@\n"
                                     << "$(OUT)/d: $(OUT)/a\n\t" << hog << " --cpu-s 1 --out $@\n";
    std::string status_file = (dir_ / "status").string(), metrics_file = (dir_ / "metrics.prom").string();
    setenv("SWAMP_LIVE_TEST", std::to_string(getpid()).c_str(), 1);
    // --cpus 0: three CPU-bound jobs on fewer CPUs would otherwise wait for one
    swamp_ = spawn({SWAMP_BIN, "--no-history", "--cpus", "0", "--mem-budget", "2G", "--socket", sock_, "--status-file", status_file,
                    "--metrics-file", metrics_file, "--", "/usr/bin/make", "-s", "-f", (dir_ / "Makefile").string(),
                    "OUT=" + dir_.string(), "-j3"});
    unsetenv("SWAMP_LIVE_TEST");

    // ctl status lists the three jobs
    ASSERT_TRUE(wait_until([&] { return jobs_in(status_json(), "running") == 3; }, 30)) << status_json().dump();
    struct stat st;
    ASSERT_EQ(stat(sock_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(stat((dir_ / "run").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0755u);
    std::string out;
    ASSERT_EQ(ctl({"status"}, out), 0);
    EXPECT_NE(out.find("jobs: 3 running, 0 stopped, 0 held"), std::string::npos) << out;
    EXPECT_NE(out.find(" hog "), std::string::npos) << out;

    // a second instance on the same socket fails at once, and leaves the socket alone
    std::string second;
    int code = run({SWAMP_BIN, "--no-history", "--socket", sock_, "--", "/bin/true"}, second);
    EXPECT_TRUE(WIFEXITED(code) && WEXITSTATUS(code) == 2) << code;
    EXPECT_TRUE(fs::exists(sock_));

    // pause: every hog is really stopped
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(ctl({"pause"}, out), 0) << out;
    double pause_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_NE(out.find("paused"), std::string::npos) << out;
    ASSERT_TRUE(wait_until([&] { return hogs_stopped_running() == std::pair(3, 0); }, 3))
        << hogs_stopped_running().first << " stopped, " << hogs_stopped_running().second << " running";
    double stopped_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::cerr << "[ figures ] ctl pause round trip " << pause_ms << " ms; all 3 hogs in T after " << stopped_ms
              << " ms\n";
    nlohmann::json s = status_json();
    EXPECT_EQ(s["state"], "paused");
    EXPECT_EQ(jobs_in(s, "stopped"), 3) << s.dump();
    for (const auto& j : s["jobs"]) EXPECT_EQ(j["reason"].get<std::string>().rfind("paused by the user", 0), 0u) << j.dump();
    EXPECT_TRUE(wait_until([&] { return key_values(file_text(status_file))["state"] == "paused"; }, 2.5))
        << file_text(status_file);
    EXPECT_TRUE(wait_until([&] { return file_text(metrics_file).find("swamp_bpf_jobs{state=\"stopped\"} 3\n") !=
                                        std::string::npos; },
                           2.5))
        << file_text(metrics_file);
    std::string throttling = file_text(metrics_file);
    EXPECT_EQ(promtool_problems(throttling), "") << throttling;
    EXPECT_NE(throttling.find("swamp_bpf_top_job_rss_bytes{rank=\"1\",name=\"hog\""), std::string::npos) << throttling;
    auto kv = key_values(file_text(status_file));
    EXPECT_EQ(kv["jobs_stopped"], "3");
    EXPECT_EQ(kv["pid"], std::to_string(swamp_.pid));
    EXPECT_NEAR(std::stod(kv["updated"]), double(time(nullptr)), 5);

    // a non-root peer on a socket opened up for it: refused, and nothing changes
    chmod(sock_.c_str(), 0666);
    EXPECT_EQ(raw_request_as_nobody(sock_, "resume\n"), "refused: uid 65534 is not root\n");
    chmod(sock_.c_str(), 0600);
    usleep(500 * 1000);
    EXPECT_EQ(hogs_stopped_running(), std::pair(3, 0));
    EXPECT_EQ(status_json()["state"], "paused");
    // and a non-root ctl on root's socket fails clearly
    std::string denied;
    EXPECT_EQ(run_as_nobody({SWAMP_BIN, "ctl", "--socket", sock_, "status"}, denied), 3) << denied;
    EXPECT_NE(denied.find("for root and the build's owner only"), std::string::npos) << denied;

    // resume: every hog runs again
    ASSERT_EQ(ctl({"resume"}, out), 0) << out;
    ASSERT_TRUE(wait_until([&] { return hogs_stopped_running().first == 0; }, 10))
        << hogs_stopped_running().first << " still stopped";

    // limit 1: at most one runs, and it stays so
    ASSERT_EQ(ctl({"limit", "1"}, out), 0) << out;
    EXPECT_NE(out.find("at most 1 running job"), std::string::npos) << out;
    ASSERT_TRUE(wait_until([&] { return hogs_stopped_running().second <= 1; }, 3));
    for (int i = 0; i < 10; i++, usleep(100 * 1000))
        EXPECT_LE(hogs_stopped_running().second, 1) << "more than one job runs under limit 1";
    EXPECT_EQ(status_json()["caps"]["max_running"], 1);

    // drain: the running job finishes, nothing else starts or resumes
    ASSERT_EQ(ctl({"drain"}, out), 0) << out;
    ASSERT_TRUE(wait_until([&] { return jobs_in(status_json(), "running") == 0; }, 30)) << status_json().dump();
    for (int i = 0; i < 10; i++, usleep(100 * 1000)) EXPECT_EQ(hogs_stopped_running().second, 0);
    s = status_json();
    EXPECT_EQ(s["state"], "draining");
    EXPECT_GE(jobs_in(s, "stopped") + jobs_in(s, "held"), 1) << s.dump();
    EXPECT_TRUE(wait_until([&] { return key_values(file_text(status_file))["state"] == "draining"; }, 2.5));

    // resume and no cap: the build ends
    ASSERT_EQ(ctl({"resume"}, out), 0) << out;
    ASSERT_EQ(ctl({"limit", "0"}, out), 0) << out;
    std::string ignored;
    int status = -1;
    ASSERT_TRUE(wait_until([&] { return waitpid(swamp_.pid, &status, WNOHANG) == swamp_.pid; }, 60));
    close(swamp_.out_fd);
    swamp_.pid = -1;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    for (const char* f : {"a", "b", "c", "d"}) EXPECT_TRUE(fs::exists(dir_ / f)) << f;

    // after exit: no socket, a final state in both files
    EXPECT_FALSE(fs::exists(sock_));
    kv = key_values(file_text(status_file));
    EXPECT_EQ(kv["state"], "exited");
    EXPECT_EQ(kv["jobs_stopped"], "0");
    EXPECT_EQ(kv["jobs_total"], "4");
    EXPECT_GE(std::stoi(kv["stops_total"]), 3);
    std::string metrics = file_text(metrics_file);
    EXPECT_NE(metrics.find("\nswamp_bpf_up 0\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("swamp_bpf_oom_kills_total 0\n"), std::string::npos) << metrics;
    EXPECT_EQ(promtool_problems(metrics), "") << metrics;
    // three jobs paused for a while: their stopped time was counted
    std::smatch waited;
    ASSERT_TRUE(std::regex_search(metrics, waited, std::regex(R"(\nswamp_bpf_job_wait_seconds_total\{state="stopped"\} ([0-9.]+)\n)")))
        << metrics;
    EXPECT_GT(std::stod(waited[1]), 0.5) << metrics;
    EXPECT_FALSE(fs::exists(status_file + ".tmp"));
    std::string none;
    EXPECT_EQ(ctl({"status"}, none), 1) << "nobody listens any more";
}

// A socket file nobody listens on (a killed instance's) is replaced.
TEST_F(LiveControlTest, StaleSocketIsReplacedAndRemovedAtExit) {
    fs::create_directories(dir_ / "run");
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    strncpy(a.sun_path, sock_.c_str(), sizeof a.sun_path - 1);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    close(fd);  // bound, never listened: connect is refused
    ASSERT_TRUE(fs::exists(sock_));
    std::string out;
    int status = run({SWAMP_BIN, "-q", "--no-history", "--socket", sock_, "--", "/bin/sleep", "0.5"}, out);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_FALSE(fs::exists(sock_));
}

}  // namespace

// Names a process chooses (its comm is the file name it was exec'd by: here a
// symlink to /bin/sleep). A comm cut inside a UTF-8 character must not crash
// `ctl status --json` (nlohmann's dump threw, and the root controller died); a
// comm and an argv holding "\n<0>…" must not forge a log or trace line
// (journald reads "<0>" as emergency level); and a comm with a newline must
// still be read from /proc/PID/stat (the protect list names it).
namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// Kills the build's processes (a long sleep) when the test ends, pass or fail.
struct KillBuildAtEnd {
    std::string marker;
    ~KillBuildAtEnd() {
        for (const ProcInfo& p : processes())
            if (p.pid != getpid() && has_env(p.pid, marker)) kill(p.pid, SIGKILL);
    }
};

}  // namespace

TEST_F(LiveControlTest, CommCutInsideACharacterDoesNotCrashStatusJson) {
    // 14 bytes of 'a' then "é" (2 bytes): the kernel keeps 15, half of the é
    std::string sleep = sleeper("aaaaaaaaaaaaaa\xc3\xa9");
    KillBuildAtEnd end_build{marker_};
    std::string status_file = (dir_ / "status").string(), metrics_file = (dir_ / "metrics.prom").string();
    setenv("SWAMP_LIVE_TEST", std::to_string(getpid()).c_str(), 1);
    swamp_ = spawn({SWAMP_BIN, "--no-history", "--socket", sock_, "--status-file", status_file, "--metrics-file",
                    metrics_file, "--", "/bin/sh", "-c", "\"$0\" 60; true", sleep});
    unsetenv("SWAMP_LIVE_TEST");

    std::string out;
    // the job is named sh until its fork execs the sleeper
    ASSERT_TRUE(wait_until([&] { return ctl({"status"}, out) == 0 && out.find("aaaaaaaaaaaaaa") != std::string::npos; },
                           30))
        << out;
    EXPECT_NE(out.find("jobs: 1 running"), std::string::npos) << out;
    EXPECT_TRUE(swamp::is_valid_utf8(out)) << out;
    EXPECT_NE(out.find("aaaaaaaaaaaaaa\\x"), std::string::npos) << out;

    int code = ctl({"status", "--json"}, out);
    EXPECT_EQ(code, 0) << out;
    nlohmann::json s = nlohmann::json::parse(out, nullptr, false);
    ASSERT_FALSE(s.is_discarded()) << "not JSON: " << out;
    ASSERT_EQ(s["jobs"].size(), 1u) << out;
    EXPECT_EQ(s["jobs"][0]["name"], "aaaaaaaaaaaaaa\xef\xbf\xbd") << "the cut byte becomes U+FFFD";
    EXPECT_EQ(waitpid(swamp_.pid, nullptr, WNOHANG), 0) << "ctl status --json killed the controller";
    EXPECT_EQ(ctl({"status", "--json"}, out), 0) << "a second request: " << out;

    ASSERT_TRUE(wait_until([&] { return file_text(status_file).find("name=") != std::string::npos; }, 5));
    // (the job's target, when it has one, follows its name)
    EXPECT_TRUE(std::regex_search(file_text(status_file), std::regex(" name=aaaaaaaaaaaaaa\\\\xc3[ \n]")))
        << file_text(status_file);
    EXPECT_TRUE(swamp::is_valid_utf8(file_text(metrics_file))) << file_text(metrics_file);
    EXPECT_NE(file_text(metrics_file).find("name=\"aaaaaaaaaaaaaa\\\\xc3\""), std::string::npos)
        << file_text(metrics_file);
}

TEST_F(LiveControlTest, NewlineInCommOrArgvForgesNoLogOrTraceLine) {
    // comm "x\n<0>forged", argv[0] the path that ends so: logged raw, the text
    // after the newline would be a journald entry of priority 0
    std::string name = "x\n<0>forged";
    std::string sleep = sleeper(name);
    std::string log = (dir_ / "swamp.log").string();
    setenv("SWAMP_LIVE_TEST", std::to_string(getpid()).c_str(), 1);
    // the protect list makes the controller log the job's name when it joins;
    // --trace writes the text trace (comm and argv) to the same stderr
    setenv("LOG_FILE", log.c_str(), 1);
    std::string ignored;
    int status = run({"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>\"$LOG_FILE\"", SWAMP_BIN, "--no-history", "--trace",
                      "--protect", name, "--", "/bin/sh", "-c", "\"$0\" 0.3; \"$0\" 0.3", sleep},
                     ignored);
    unsetenv("SWAMP_LIVE_TEST");
    unsetenv("LOG_FILE");
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    std::string text = file_text(log);
    ASSERT_FALSE(text.empty()) << "no log written to " << log;
    for (const std::string& line : lines_of(text)) {
        EXPECT_NE(line.rfind("<0>", 0), 0u) << "a forged line in:\n" << text;
        EXPECT_NE(line.rfind("forged", 0), 0u) << "a forged line in:\n" << text;
    }
    EXPECT_NE(text.find("(x\\n<0>forged) in job"), std::string::npos)
        << "the protect notice names the job, escaped:\n" << text;
    EXPECT_NE(text.find("/x\\n<0>forged 0.3"), std::string::npos) << "the exec line's argv, escaped:\n" << text;
}
