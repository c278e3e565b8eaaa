// `swamp-bpf service`: builds found on their own, by user and by root name,
// whether they ran before the service started or began after.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "run_util.hpp"

using namespace swamp::test;
namespace fs = std::filesystem;

namespace {

class ServiceTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (std::string why = missing_root_or_memcg(); !why.empty()) GTEST_SKIP() << why;
        dir_ = fresh_dir("service");
        // the builds of another user write here (sticky: they cannot move root's run/ away),
        // and root's files go where only root writes
        fs::permissions(dir_, fs::perms::all | fs::perms::sticky_bit);
        run_ = dir_ / "run";
        fs::create_directories(run_);
        fs::permissions(run_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
        trace_ = (run_ / "trace.jsonl").string();
        log_ = (dir_ / "service.log").string();
        // three 200 MiB jobs of 3 CPU-s each; two builds of it want 1.2 GiB at once
        std::ofstream(dir_ / "Makefile") << "all: a b c\n"
                                            "a b c:\n"
                                            "\t$(HOG) --mib 200 --cpu-s 3 --shape ramp --out $(OUT)/$@\n";
    }
    void TearDown() override {
        if (service_ > 0) {
            kill(service_, SIGKILL);
            waitpid(service_, nullptr, 0);
        }
        if (!user_.empty()) {
            std::string ignored;
            run({"/usr/sbin/userdel", user_}, ignored);
        }
        EXPECT_TRUE(stopped_build_processes().empty()) << "left stopped";
        fs::remove_all(dir_);
    }

    // Starts the service (under `wrapper`, such as setpriv, if given); returns once it is
    // ready (its start line is logged).
    void start_service(const std::vector<std::string>& args, const std::string& budget = "700M",
                       const std::vector<std::string>& wrapper = {}) {
        std::vector<std::string> argv{"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>" + log_};
        argv.insert(argv.end(), wrapper.begin(), wrapper.end());
        for (std::string a : {std::string(SWAMP_BIN), std::string("service"), std::string("--no-history"),
                              std::string("--mem-budget"), budget, std::string("--trace-json"),
                              std::string("--trace-output"), trace_, std::string("--socket"),
                              (run_ / "ctl.sock").string(), std::string("--status-file"), (run_ / "status").string()})
            argv.push_back(a);
        argv.insert(argv.end(), args.begin(), args.end());
        service_ = spawn(argv).pid;
        for (int i = 0; i < 200 && file_text(log_).find("managing") == std::string::npos; i++) usleep(50 * 1000);
        ASSERT_NE(file_text(log_).find("managing"), std::string::npos) << file_text(log_);
    }

    // SIGTERM, as systemd and OpenRC stop it; returns its exit status.
    int stop_service() {
        kill(service_, SIGTERM);
        int status = 0;
        waitpid(service_, &status, 0);
        service_ = -1;
        return status;
    }

    // A build of the test Makefile into dir_/NAME, with `make` found as `make_path`, as `user` ("": root).
    Child start_build(const std::string& name, const std::string& make_path = "/usr/bin/make",
                      const std::string& user = "") {
        fs::create_directories(dir_ / name);
        fs::permissions(dir_ / name, fs::perms::all);
        std::vector<std::string> argv{make_path, "-s", "-j3", "-f", (dir_ / "Makefile").string(),
                                      std::string("HOG=") + HOG_BIN, "OUT=" + (dir_ / name).string()};
        if (!user.empty()) argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", user, "--"});
        return spawn(argv);
    }

    bool built(const std::string& name) {
        return fs::exists(dir_ / name / "a") && fs::exists(dir_ / name / "b") && fs::exists(dir_ / name / "c");
    }

    // The trace's decisions, and the builds (make pids) whose hogs were managed.
    struct Seen {
        int stops = 0, resumes = 0;
        std::set<uint32_t> makes_of_managed_jobs;  // parents of the hogs that were exec'd or seeded
    };
    Seen read_trace() {
        Seen s;
        std::ifstream in(trace_);
        for (std::string line; std::getline(in, line);) {
            auto j = nlohmann::json::parse(line, nullptr, false);
            if (j.is_discarded()) continue;
            if (j.value("event", "") == "exec" && j.value("comm", "") == "hog")
                s.makes_of_managed_jobs.insert(j.value("ppid", 0u));
            if (j.value("event", "") == "decision") {
                std::string action = j.value("action", "");
                s.stops += action == "stop" || action == "hold";
                s.resumes += action == "resume";
            }
        }
        return s;
    }

    // How often `what` occurs in `text`.
    static int occurrences(const std::string& text, const std::string& what) {
        int n = 0;
        for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) n++;
        return n;
    }

    fs::path dir_, run_;
    std::string trace_, log_, user_;
    pid_t service_ = -1;
};

// Two builds of one user, started after the service, are both found and managed
// as one budget; another user's build beside them is left alone.
TEST_F(ServiceTest, FindsTwoBuildsOfAUser) {
    user_ = "swamp-svc";
    std::string ignored;
    run({"/usr/sbin/useradd", "-M", "-r", "-s", "/usr/sbin/nologin", user_}, ignored);
    start_service({"--users", user_, "--roots", ""});

    Child one = start_build("one", "/usr/bin/make", user_);
    Child two = start_build("two", "/usr/bin/make", user_);
    Child root_build = start_build("root");  // root's: not watched
    std::string out;
    int s1 = finish(one, out), s2 = finish(two, out), s3 = finish(root_build, out);
    int status = stop_service();

    std::string log = file_text(log_);
    EXPECT_EQ(s1, 0) << log;
    EXPECT_EQ(s2, 0) << log;
    EXPECT_EQ(s3, 0) << log;
    EXPECT_TRUE(built("one") && built("two") && built("root"));
    ASSERT_TRUE(WIFEXITED(status)) << log;
    EXPECT_EQ(WEXITSTATUS(status), 0) << log;
    EXPECT_NE(log.find("managing every build of users " + user_), std::string::npos) << log;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(log, m, std::regex("stopped in [0-9.]+ s: ([0-9]+) jobs"))) << log;
    EXPECT_EQ(std::stoi(m[1]), 6) << "the user's two builds, not root's: " << log;
    EXPECT_EQ(occurrences(log, "found a build: pid "), 2) << log;
    EXPECT_EQ(occurrences(log, ") ended after "), 2) << log;
    // each build's own tally when it ends, and together they make the summary's
    int build_stops = 0;
    const std::regex end_line(R"(\(make\) ended after [0-9]+ s: ([0-9]+) jobs, ([0-9]+) stops)");
    auto ends = std::sregex_iterator(log.begin(), log.end(), end_line);
    int builds_ended = 0;
    for (auto it = ends; it != std::sregex_iterator(); ++it, builds_ended++) {
        EXPECT_EQ(std::stoi((*it)[1]), 3) << log;
        build_stops += std::stoi((*it)[2]);
    }
    EXPECT_EQ(builds_ended, 2) << log;
    std::smatch totals;
    ASSERT_TRUE(std::regex_search(log, totals, std::regex("stopped in [0-9.]+ s: [0-9]+ jobs, ([0-9]+) stops"))) << log;
    EXPECT_EQ(build_stops, std::stoi(totals[1])) << log;
    std::string status_file = file_text((run_ / "status").string());
    EXPECT_NE(status_file.find("state=exited"), std::string::npos) << status_file;
    EXPECT_NE(status_file.find("jobs_total=6"), std::string::npos) << status_file;

    Seen seen = read_trace();
    EXPECT_EQ(seen.makes_of_managed_jobs.size(), 2u) << "hogs under two makes";
    EXPECT_GT(seen.stops, 0) << "1.2 GiB of jobs in a 700 MiB budget: " << log;
    EXPECT_EQ(seen.stops, seen.resumes) << log;
}

// The systemd unit's CapabilityBoundingSet= (config/swamp-bpf.service): as root with only
// those capabilities (setpriv, as systemd sets them), the service manages another user's build
// and pages its stopped jobs out without a warning; without CAP_KILL, it cannot stop them.
TEST_F(ServiceTest, ManagesAnotherUsersBuildWithOnlyTheUnitsCapabilities) {
    std::ifstream unit(std::string(SOURCE_DIR) + "/config/swamp-bpf.service");
    std::string line, caps;
    while (std::getline(unit, line))
        if (line.rfind("CapabilityBoundingSet=", 0) == 0) caps = line.substr(line.find('=') + 1);
    ASSERT_FALSE(caps.empty()) << "no CapabilityBoundingSet= in the unit";
    std::string setpriv_caps = "-all";  // "CAP_BPF CAP_KILL" -> "-all,+bpf,+kill"
    std::istringstream words(caps);
    for (std::string cap; words >> cap;) {
        std::transform(cap.begin(), cap.end(), cap.begin(), ::tolower);
        setpriv_caps += ",+" + cap.substr(4);
    }
    user_ = "swamp-caps";
    std::string ignored;
    run({"/usr/sbin/useradd", "-M", "-r", "-s", "/usr/sbin/nologin", user_}, ignored);
    for (bool with_kill : {true, false}) {
        std::string bounding = with_kill ? setpriv_caps : std::regex_replace(setpriv_caps, std::regex(",\\+kill"), "");
        start_service({"--users", user_, "--roots", "", "--page-out", "on", "--page-out-delay", "0.3"}, "500M",
                      {"/usr/bin/setpriv", "--bounding-set=" + bounding, "--inh-caps=-all", "--"});
        std::string name = with_kill ? "unit-caps" : "without-kill";
        Child build = start_build(name, "/usr/bin/make", user_);
        std::string out;
        int built_status = finish(build, out);
        int status = stop_service();
        std::string log = file_text(log_), trace = file_text(trace_);
        EXPECT_EQ(built_status, 0) << log;
        EXPECT_TRUE(built(name)) << log;
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << bounding << ": " << log;
        Seen seen = read_trace();
        if (with_kill) {
            EXPECT_GT(seen.stops, 0) << "600 MiB of jobs in a 500 MiB budget: " << log;
            EXPECT_EQ(seen.stops, seen.resumes) << log;
            EXPECT_EQ(log.find("cannot "), std::string::npos) << bounding << ": " << log;
            EXPECT_EQ(log.find("not locked in memory"), std::string::npos) << log;
            EXPECT_EQ(trace.find("failed: process_madvise"), std::string::npos) << trace;
            EXPECT_NE(trace.find("\"method\":\"process_madvise\""), std::string::npos) << "a page-out ran: " << trace;
        } else {
            EXPECT_EQ(seen.stops, 0) << log;
            EXPECT_NE(log.find("cannot stop job"), std::string::npos) << "without CAP_KILL: " << log;
        }
        fs::remove(trace_);
    }
}

// A build already running when the service starts is found by one walk of
// /proc; one started later is found at its exec by the kernel side. The root
// name here is a copy of make under a name nothing else on the machine runs.
TEST_F(ServiceTest, FindsBuildsByTheirDriversNameBeforeAndAfterItStarts) {
    fs::path make = dir_ / "svcmake";
    fs::copy_file("/usr/bin/make", make);
    Child early = start_build("early", make.string());
    usleep(300 * 1000);  // running before the service
    start_service({"--roots", "svcmake"});
    Child late = start_build("late", make.string());
    std::string out;
    int s1 = finish(early, out), s2 = finish(late, out);
    int status = stop_service();

    std::string log = file_text(log_);
    EXPECT_EQ(s1, 0) << log;
    EXPECT_EQ(s2, 0) << log;
    EXPECT_TRUE(built("early") && built("late"));
    ASSERT_TRUE(WIFEXITED(status)) << log;
    EXPECT_EQ(WEXITSTATUS(status), 0) << log;
    EXPECT_NE(log.find("managing every build under svcmake"), std::string::npos) << log;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(log, m, std::regex("stopped in [0-9.]+ s: ([0-9]+) jobs"))) << log;
    EXPECT_EQ(std::stoi(m[1]), 6) << log;
    EXPECT_EQ(occurrences(log, "found a build: pid "), 2) << "one by the walk of /proc, one at its exec: " << log;
    EXPECT_NE(log.find("found a build: pid " + std::to_string(late.pid) + " ("), std::string::npos) << log;
    Seen seen = read_trace();
    EXPECT_TRUE(seen.makes_of_managed_jobs.count(uint32_t(late.pid))) << "the late build's hogs were exec'd under it";
    EXPECT_GT(seen.stops, 0) << log;
    EXPECT_EQ(seen.stops, seen.resumes) << log;
}

// A distcc helper host: the service watches distccd, whose pre-forked workers
// run each compile; every compile is a job of its own, named after the
// compiler, and four 300 MiB compiles in a 600 MiB budget take turns.
TEST_F(ServiceTest, ADistccHelperManagesTheCompilesOfDistccd) {
    if (!fs::exists("/usr/bin/distccd")) GTEST_SKIP() << "no distccd (scripts/deps.sh installs distcc)";
    // six chains of 300 nested template instantiations: ~300 MiB and ~4 s of cc1plus -O1
    std::string source = "template<int K, int N> struct S { unsigned long v = S<K, N - 1>().v * 3 + N + K; };\n"
                         "template<int K> struct S<K, 0> { unsigned long v = K; };\n";
    for (int k = 0; k < 6; k++) source += "unsigned long chain" + std::to_string(k) + "() { return S<" + std::to_string(k) + ", 300>().v; }\n";
    std::string objects;
    for (int i = 1; i <= 4; i++) {
        std::ofstream(dir_ / ("unit" + std::to_string(i) + ".cpp")) << "namespace u" << i << " {\n" << source << "}\n";
        objects += " unit" + std::to_string(i) + ".o";
    }
    std::ofstream(dir_ / "Makefile.distcc") << "all:" << objects << "\n%.o: %.cpp\n\t$(CXX) -w -O1 -c $< -o $@\n";

    // distccd starts after the service: it is adopted at its exec, and its workers are seen fork
    start_service({"--roots", "distccd"}, "600M");
    std::string port = std::to_string(30000 + getpid() % 20000);
    Child distccd = spawn({"/usr/bin/distccd", "--daemon", "--no-detach", "--listen", "127.0.0.1", "--port", port,
                           "--allow", "127.0.0.1", "--jobs", "4", "--user", "nobody", "--log-stderr", "--log-level",
                           "error"});
    usleep(500 * 1000);  // until it listens
    std::string out;
    int status = run({"/usr/bin/env", "DISTCC_HOSTS=127.0.0.1:" + port + "/4", "DISTCC_FALLBACK=0",
                      "DISTCC_SKIP_LOCAL_RETRY=1", "/usr/bin/make", "-s", "-j4", "-C", dir_.string(), "-f",
                      "Makefile.distcc", "CXX=distcc g++"},
                     out);
    int service_status = stop_service();
    kill(distccd.pid, SIGTERM);
    finish(distccd, out);

    std::string log = file_text(log_);
    EXPECT_EQ(status, 0) << "the distcc build: " << log;
    for (int i = 1; i <= 4; i++) EXPECT_TRUE(fs::exists(dir_ / ("unit" + std::to_string(i) + ".o"))) << i;
    ASSERT_TRUE(WIFEXITED(service_status)) << log;
    EXPECT_EQ(WEXITSTATUS(service_status), 0) << log;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(log, m, std::regex("stopped in [0-9.]+ s: ([0-9]+) jobs"))) << log;
    EXPECT_EQ(std::stoi(m[1]), 4) << "one job per compile, not one per distccd worker: " << log;

    int stops = 0, resumes = 0;
    std::ifstream in(trace_);
    for (std::string line; std::getline(in, line);) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || j.value("event", "") != "decision") continue;
        EXPECT_NE(j.value("comm", ""), "distccd") << "a job named after the worker: " << line;
        stops += j.value("action", "") != "resume";
        resumes += j.value("action", "") == "resume";
    }
    EXPECT_GT(stops, 0) << "1.2 GiB of compiles in a 600 MiB budget: " << log;
    EXPECT_EQ(stops, resumes) << log;
}

// What systemd's Type=notify unit and the journal see, without systemd: READY=1
// on $NOTIFY_SOCKET once BPF is attached, WATCHDOG=1 every half of WatchdogSec while the
// loop turns, STATUS= lines as builds come and jobs wait, STOPPING=1 at SIGTERM; and "<N>"
// syslog levels on the lines when $JOURNAL_STREAM names stderr.
TEST_F(ServiceTest, TellsSystemdItIsReadyAliveAndWhatItDoesAndLogsWithLevels) {
    std::string notify_path = (dir_ / "notify").string();
    int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(sock, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    notify_path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    ASSERT_EQ(bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    auto next = [&](int timeout_s) {
        timeval wait{timeout_s, 0};
        setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
        char buf[256];
        ssize_t n = recv(sock, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, size_t(n)) : "";
    };

    fs::path make = dir_ / "svcmake";
    fs::copy_file("/usr/bin/make", make);
    // WatchdogSec=400ms, as systemd passes it (the shell's pid is swamp-bpf's after exec)
    std::string script = "exec 2>" + log_ + "; JOURNAL_STREAM=$(stat -c %d:%i " + log_ + ") NOTIFY_SOCKET=" +
                         notify_path + " WATCHDOG_USEC=400000 WATCHDOG_PID=$$ exec \"$0\" service --no-history " +
                         "--mem-budget 500M --roots svcmake --socket " + (run_ / "ctl.sock").string() +
                         " --status-file " + (run_ / "status").string();
    service_ = spawn({"/bin/sh", "-c", script, SWAMP_BIN}).pid;
    std::string ready = next(20);
    std::string log_when_ready = file_text(log_);
    // a build of three 200 MiB jobs in a 500 MiB budget: one of them waits
    Child build = start_build("b", make.string());
    std::vector<std::string> during;
    int build_status = -1;
    while (waitpid(build.pid, &build_status, WNOHANG) == 0) {
        std::string msg = next(1);
        if (!msg.empty()) during.push_back(msg);
    }
    close(build.out_fd);
    for (int i = 0; i < 20; i++) during.push_back(next(1));  // ~4 s more: the build's end and idle ticks
    int status = stop_service();
    std::vector<std::string> after;
    for (std::string msg; !(msg = next(1)).empty();) after.push_back(msg);
    close(sock);

    EXPECT_EQ(ready, "READY=1") << file_text(log_);
    EXPECT_NE(log_when_ready.find("<5>swamp-bpf: managing every build under svcmake"), std::string::npos)
        << "the start line is logged before READY=1, as a notice: " << log_when_ready;
    std::string all;
    int watchdogs = 0;
    for (const std::string& m : during) all += m + "\n", watchdogs += m == "WATCHDOG=1";
    EXPECT_EQ(build_status, 0) << all;
    EXPECT_TRUE(built("b"));
    EXPECT_GE(watchdogs, 10) << "every 200 ms for several seconds: " << all;
    EXPECT_TRUE(std::regex_search(all, std::regex("(^|\n)STATUS=1 build, [1-9][0-9]* jobs? running, [1-9][0-9]* waiting\n")))
        << "a job of the build waited: " << all;
    EXPECT_TRUE(std::regex_search(all, std::regex("(^|\n)STATUS=no build\n"))) << "after the build ended: " << all;
    ASSERT_FALSE(after.empty());
    EXPECT_EQ(after.back(), "STOPPING=1");
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_NE(file_text(log_).find("<5>swamp-bpf: stopped in"), std::string::npos) << file_text(log_);
}

// `swamp-bpf -- make` run beside the service: that build is the other
// swamp-bpf's; the service leaves it alone instead of stopping and resuming the
// same jobs.
TEST_F(ServiceTest, LeavesABuildToTheSwampBpfThatRunsIt) {
    fs::path make = dir_ / "svcmake";
    fs::copy_file("/usr/bin/make", make);
    start_service({"--roots", "svcmake"});
    std::string own_log = (dir_ / "own.log").string();
    fs::create_directories(dir_ / "own");
    std::string out;
    int status = run({"/bin/sh", "-c",
                      "exec \"$0\" --no-history --mem-budget 700M -- " + make.string() + " -s -j3 -f " +
                          (dir_ / "Makefile").string() + " HOG=" + HOG_BIN + " OUT=" + (dir_ / "own").string() +
                          " 2>" + own_log,
                      SWAMP_BIN},
                     out);
    int service_status = stop_service();

    std::string log = file_text(log_), own = file_text(own_log);
    EXPECT_EQ(status, 0) << own;
    EXPECT_TRUE(built("own"));
    ASSERT_TRUE(WIFEXITED(service_status)) << log;
    EXPECT_NE(log.find("leaving pid "), std::string::npos) << log;
    EXPECT_EQ(log.find("found a build"), std::string::npos) << log;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(log, m, std::regex("stopped in [0-9.]+ s: ([0-9]+) jobs, ([0-9]+) stops"))) << log;
    EXPECT_EQ(std::stoi(m[1]), 0) << log;
    ASSERT_TRUE(std::regex_search(own, m, std::regex("status 0 in [0-9.]+ s: ([0-9]+) jobs, ([0-9]+) stops"))) << own;
    EXPECT_EQ(std::stoi(m[1]), 3) << "the build's own swamp-bpf managed it: " << own;
}

}  // namespace
