// The controller against a real fake build under a real memory limit: plain
// `make -j4` is OOM-killed; under swamp-bpf the same build succeeds with no
// OOM kill, with either actuator, and leaves nothing stopped or frozen.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <signal.h>
#include <sstream>

#include "run_util.hpp"

using namespace swamp::test;
namespace fs = std::filesystem;

namespace {

const std::string kLimit = "1200M";  // Makefile.demo: -j1 fits, -j2 and -j4 do not; see its "Memory limit"

struct BuildResult {
    int status = -1;
    int oom_kills = -1;
    std::string log;  // memcg-run's and swamp-bpf's stderr
    bool outputs_complete = false;
    bool timed_out = false;  // still running when its time was up (a thrashing build hangs)
};

// Runs `make -s ARGS` in a fresh memory cgroup of `limit`, optionally under
// swamp-bpf; `outputs` are the files (relative to OUT) a complete build has.
BuildResult run_build(const std::string& limit, const std::string& make_args, const std::vector<std::string>& outputs,
                      const std::vector<std::string>& swamp_args, const std::string& tool = "make -s",
                      int seconds = 600, const std::string& prelude = "") {
    fs::path out = fs::temp_directory_path() / ("swamp-ctl-" + std::to_string(getpid()));
    fs::remove_all(out);
    fs::path log = out.string() + ".log", record = out.string() + ".record.jsonl";
    fs::remove(record);
    std::string cmd = std::string(SOURCE_DIR) + "/scripts/memcg-run.sh --limit " + limit + " --name ctl -- ";
    if (!swamp_args.empty()) {
        // reactive, unless the test gives a history: none from earlier runs on this machine
        bool own_history = std::find(swamp_args.begin(), swamp_args.end(), "--history-db") != swamp_args.end();
        cmd += std::string(SWAMP_BIN) + (own_history ? "" : " --no-history") + " --record " + record.string();
        for (const auto& a : swamp_args) cmd += " " + a;
        cmd += " --";
    }
    cmd += " " + tool + " " + make_args + (tool == "make -s" ? " OUT=" + out.string() : "") + " >/dev/null 2>" +
           log.string();
    BuildResult r;
    std::string ignored;
    // prelude: shell commands run first, in a mount namespace of the build's own
    if (prelude.empty())
        r.status = run({"/usr/bin/timeout", std::to_string(seconds), "/bin/sh", "-c", cmd}, ignored);
    else
        r.status = run({"/usr/bin/timeout", std::to_string(seconds), "/usr/bin/unshare", "-m", "/bin/sh", "-c",
                        prelude + " && " + cmd},
                       ignored);
    r.timed_out = WIFEXITED(r.status) && WEXITSTATUS(r.status) == 124;
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    r.log = text.str();
    std::smatch m;
    if (std::regex_search(r.log, m, std::regex("oom_kills=([0-9]+)"))) r.oom_kills = std::stoi(m[1]);
    r.outputs_complete = std::all_of(outputs.begin(), outputs.end(), [&](const std::string& f) { return fs::exists(out / f); });
    // a managed build that failed: its decisions go into the log, to say why
    if (!swamp_args.empty() && (r.status != 0 || r.oom_kills != 0)) {
        r.log += "decisions (from --record):\n";
        for (const auto& d : json_lines(file_text(record))) {
            if (d.value("event", "") != "decision") continue;
            char head[96];
            snprintf(head, sizeof head, "  %7.2f %-6s job %llu rss %lluM ", d.value("t", 0.0),
                     d.value("action", "").c_str(), (unsigned long long)d.value("job", uint64_t(0)),
                     (unsigned long long)(d.value("rss", uint64_t(0)) >> 20));
            r.log += head + d.value("target", std::string()) + ": " + d.value("reason", std::string()) + "\n";
        }
    }
    fs::remove_all(out);
    fs::remove(log);
    fs::remove(record);
    return r;
}

// The demo fake build, -j4 in 1200 MiB.
BuildResult run_demo(const std::vector<std::string>& swamp_args, const std::string& prelude = "") {
    return run_build(kLimit, "-f " + std::string(SOURCE_DIR) + "/tests/fakebuild/Makefile.demo HOG=" + HOG_BIN + " -j4",
                     {"app", "tests"}, swamp_args, "make -s", 600, prelude);
}

// Real compilers, not hogs: g++ -O2 of this project's heaviest sources
// (310-450 MiB of cc1plus each, and they grow with the sources), -j6 in
// 1100 MiB: two of the biggest fit with room for a job stopped beside them;
// three do not. (At 1000 MiB a reactive build could be OOM-killed: 1 run in 14.)
BuildResult run_real(const std::vector<std::string>& swamp_args, int seconds = 600) {
    return run_build("1100M",
                     "-f " + std::string(SOURCE_DIR) + "/tests/realbuild/Makefile SRC=" + SOURCE_DIR + " -j6",
                     {"options.o", "event_json.o", "printer.o", "replay_source.o", "probe_cmd.o", "test_cli.o",
                      "test_json.o", "test_replay.o"},
                     swamp_args, "make -s", seconds);
}

class ControllerTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (std::string why = missing_root_or_memcg(); !why.empty()) GTEST_SKIP() << why;
    }
    void TearDown() override {
        if (IsSkipped()) return;
        EXPECT_TRUE(stopped_build_processes().empty()) << "a build process was left stopped";
        EXPECT_TRUE(leftover_cgroups().empty()) << "a swamp-bpf cgroup was left behind";
    }
};

// History: the same build twice with a fresh database. The first run is
// reactive and records every job; the second starts every job with its
// prediction, says so in each decision, and still ends without an OOM kill.
TEST_F(ControllerTest, TheSecondRunPredictsEveryJobFromTheFirst) {
    fs::path dir = fs::temp_directory_path() / ("swamp-history-" + std::to_string(getpid()));
    fs::remove_all(dir);
    std::string db = (dir / "history.db").string(), trace = (dir / "second.jsonl").string();
    BuildResult first = run_demo({"--history-db", db});
    ASSERT_EQ(first.status, 0) << first.log;
    EXPECT_EQ(first.oom_kills, 0) << first.log;
    EXPECT_TRUE(std::regex_search(first.log, std::regex("predicted 0 of [1-9][0-9]* jobs"))) << first.log;

    BuildResult second = run_demo({"--history-db", db, "--trace-json", "--trace-output", trace});
    EXPECT_EQ(second.status, 0) << second.log;
    EXPECT_EQ(second.oom_kills, 0) << second.log;
    EXPECT_TRUE(second.outputs_complete) << second.log;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(second.log, m, std::regex("predicted ([0-9]+) of ([0-9]+) jobs \\(([0-9]+) outgrew")))
        << second.log;
    EXPECT_EQ(m[1], m[2]) << "every job ran in the first run: " << second.log;
    EXPECT_LE(std::stoi(m[3]), 2) << "the hogs' peaks repeat: " << second.log;
    std::ifstream in(trace);
    for (std::string line; std::getline(in, line);) {
        if (line.find("\"event\":\"decision\"") == std::string::npos) continue;
        EXPECT_NE(line.find("(predicted peak "), std::string::npos) << "a decision without its prediction: " << line;
    }

    std::string listed;
    ASSERT_EQ(run({SWAMP_BIN, "history", "list", "--db", db}, listed), 0) << listed;
    EXPECT_NE(listed.find("hog --mib 700"), std::string::npos) << listed;
    fs::remove_all(dir);
}

TEST_F(ControllerTest, PlainMakeIsOomKilled) {
    BuildResult r = run_demo({});
    EXPECT_NE(r.status, 0) << r.log;
    EXPECT_GE(r.oom_kills, 1) << r.log;
    EXPECT_FALSE(r.outputs_complete);
}

TEST_F(ControllerTest, SignalActuatorFinishesWithoutOomKill) {
    BuildResult r = run_demo({"--action", "signal"});
    EXPECT_EQ(r.status, 0) << r.log;
    EXPECT_EQ(r.oom_kills, 0) << r.log;
    EXPECT_TRUE(r.outputs_complete) << r.log;
    EXPECT_NE(r.log.find("OOM kills 0"), std::string::npos) << r.log;
    EXPECT_TRUE(std::regex_search(r.log, std::regex("[1-9][0-9]* (stops|holds at exec)"))) << "the limit binds: " << r.log;
}

// As on a stock Raspberry Pi OS kernel: no BTF (so the tracepoint variant, with
// no --btf) and PSI off (/proc/pressure hidden): nothing waits for a PSI event
// that never comes, and the build is throttled without an OOM kill.
TEST_F(ControllerTest, WithoutBtfOrPsiTheDemoFinishesWithoutOomKill) {
    BuildResult r = run_demo({"--action", "signal"},
                             "mount -t tmpfs none /sys/kernel/btf && mount -t tmpfs none /proc/pressure && "
                             "test ! -e /sys/kernel/btf/vmlinux && test ! -e /proc/pressure/memory");
    EXPECT_EQ(r.status, 0) << r.log;
    EXPECT_EQ(r.oom_kills, 0) << r.log;
    EXPECT_TRUE(r.outputs_complete) << r.log;
    EXPECT_NE(r.log.find("BPF: tracepoint variant"), std::string::npos) << r.log;
    EXPECT_NE(r.log.find("no PSI trigger"), std::string::npos) << r.log;
    EXPECT_TRUE(std::regex_search(r.log, std::regex("[1-9][0-9]* (stops|holds at exec)"))) << "the limit binds: " << r.log;
    EXPECT_TRUE(std::regex_search(r.log, std::regex("[1-9][0-9]* resumes"))) << r.log;
}

TEST_F(ControllerTest, FreezeActuatorFinishesWithoutOomKill) {
    if (!fs::exists("/sys/fs/cgroup/unified/cgroup.controllers") && !fs::exists("/sys/fs/cgroup/cgroup.controllers"))
        GTEST_SKIP() << "no cgroup v2";
    BuildResult r = run_demo({"--action", "freeze"});
    EXPECT_EQ(r.status, 0) << r.log;
    EXPECT_EQ(r.oom_kills, 0) << r.log;
    EXPECT_TRUE(r.outputs_complete) << r.log;
}

TEST_F(ControllerTest, RealCompilersPlainIsOomKilledSwampFinishes) {
    // Plain -j6 fails one of two ways: an OOM kill, or a hang while file pages
    // thrash (see KERNEL-FACTS.md); give it 150 s, -j1 needs ~40.
    BuildResult plain = run_real({}, 150);
    EXPECT_NE(plain.status, 0) << plain.log;
    EXPECT_TRUE(plain.oom_kills >= 1 || plain.timed_out) << plain.log;
    EXPECT_FALSE(plain.outputs_complete);
    BuildResult managed = run_real({"--action", "signal"});
    EXPECT_EQ(managed.status, 0) << managed.log;
    EXPECT_EQ(managed.oom_kills, 0) << managed.log;
    EXPECT_TRUE(managed.outputs_complete) << managed.log;
}

// The same real compiles driven by ninja (which runs each through sh -c).
TEST_F(ControllerTest, NinjaBuildOfRealCompilersFinishes) {
    if (!fs::exists("/usr/bin/ninja")) GTEST_SKIP() << "ninja is not installed (scripts/deps.sh installs it)";
    fs::path dir = fs::temp_directory_path() / ("swamp-ninja-" + std::to_string(getpid()));
    fs::create_directories(dir);
    std::ofstream nf(dir / "build.ninja");
    nf << "rule cxx\n  command = g++ -std=c++20 -O2 -DSWAMP_VERSION=\\\"ninja\\\" -I" << SOURCE_DIR << "/userspace -I"
       << SOURCE_DIR << "/bpf -I" << SOURCE_DIR << "/tests/unit -c $in -o $out\n";
    std::vector<std::string> outputs;
    for (const char* u : {"userspace/cli/options", "userspace/source/event_json", "userspace/trace/printer",
                          "userspace/source/replay_source", "userspace/cli/probe_cmd", "tests/unit/test_cli",
                          "tests/unit/test_json", "tests/unit/test_replay"}) {
        std::string obj = fs::path(u).filename().string() + ".o";
        nf << "build " << obj << ": cxx " << SOURCE_DIR << "/" << u << ".cpp\n";
        outputs.push_back((dir / obj).string());
    }
    nf.close();
    BuildResult r = run_build("1100M", "-C " + dir.string() + " -j6", outputs, {"--action", "signal"}, "ninja");
    fs::remove_all(dir);
    EXPECT_EQ(r.status, 0) << r.log;
    EXPECT_EQ(r.oom_kills, 0) << r.log;
    EXPECT_TRUE(r.outputs_complete) << r.log;
}

TEST_F(ControllerTest, DryRunDecidesButTouchesNothing) {
    // dry-run under a budget far below the build: decisions are reported, nothing
    // is stopped, so the build runs as plain -j4 would (no limit here).
    fs::path out = fs::temp_directory_path() / ("swamp-dry-" + std::to_string(getpid()));
    std::string trace = out.string() + ".trace";
    std::string ignored;
    int status = run({SWAMP_BIN, "--no-history", "--action", "dry-run", "--mem-budget", "300M", "--trace-json", "--trace-output", trace,
                      "--", "/usr/bin/make", "-s", "-f", std::string(SOURCE_DIR) + "/tests/fakebuild/Makefile.demo",
                      std::string("HOG=") + HOG_BIN, "OUT=" + out.string(), "-j4"},
                     ignored);
    EXPECT_EQ(status, 0);
    std::ifstream in(trace);
    int decisions = 0;
    for (std::string line; std::getline(in, line);)
        if (line.find("\"event\":\"decision\"") != std::string::npos) decisions++;
    EXPECT_GT(decisions, 0);
    fs::remove_all(out);
    fs::remove(trace);
}

TEST_F(ControllerTest, BadInputIsAClearErrorAndStartsNothing) {
    std::string ignored;
    int status = run({SWAMP_BIN, "--root-pid", "999999999"}, ignored);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 4);
    status = run({SWAMP_BIN, "--mem-budget", "4XB", "--", "/bin/true"}, ignored);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 2);
}

}  // namespace

namespace {

// --user: processes of that user are followed from their exec on; others are not.
TEST_F(ControllerTest, UserModeFollowsOnlyThatUsersProcesses) {
    const std::string user = "swamp-test";
    std::string ignored;
    bool created = run({"/usr/sbin/useradd", "-M", "-r", "-s", "/usr/sbin/nologin", user}, ignored) == 0;
    std::string trace = fs::temp_directory_path() / ("swamp-user-" + std::to_string(getpid()) + ".jsonl");
    Child swamp = spawn({SWAMP_BIN, "--no-history", "--user", user, "--action", "dry-run", "--trace-json", "--trace-output", trace});
    // wait until the BPF side is loaded: the controller writes its first lines then
    for (int i = 0; i < 100 && (!fs::exists(trace) || fs::file_size(trace) == 0); i++) usleep(50 * 1000);
    usleep(300 * 1000);

    Child other = spawn({ALLOC_TREE_BIN, "--hold-ms", "100", "40"});  // root's: must not show
    std::string user_out, other_out;
    int status = run({"/usr/sbin/runuser", "-u", user, "--", ALLOC_TREE_BIN, "--hold-ms", "100", "48"}, user_out);
    finish(other, other_out);
    kill(swamp.pid, SIGINT);
    int swamp_status = finish(swamp, ignored);
    if (created) run({"/usr/sbin/userdel", user}, ignored);

    EXPECT_EQ(status, 0);
    ASSERT_TRUE(WIFEXITED(swamp_status));
    EXPECT_EQ(WEXITSTATUS(swamp_status), 0);
    std::ifstream in(trace);
    std::vector<nlohmann::json> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
    fs::remove(trace);

    std::set<uint32_t> user_pids, other_pids{uint32_t(other.pid)};
    std::istringstream uo(user_out), oo(other_out);
    std::string word;
    uint32_t pid, mib;
    while (uo >> word >> pid >> mib) user_pids.insert(pid);
    while (oo >> word >> pid >> mib) other_pids.insert(pid);
    ASSERT_EQ(user_pids.size(), 1u) << user_out;
    bool user_child_exit = false;
    for (const auto& j : lines) {
        EXPECT_FALSE(other_pids.count(j.value("pid", 0u))) << "another user's process: " << j.dump();
        if (j["event"] == "exit" && user_pids.count(j["pid"].get<uint32_t>())) {
            user_child_exit = true;
            EXPECT_NEAR(j["peak_rss"].get<uint64_t>() / 1048576.0, 48.0, 4.8);
        }
    }
    EXPECT_TRUE(user_child_exit) << "the user's allocating child was followed";
}

}  // namespace

namespace {

class SigkillTest : public ControllerTest, public ::testing::WithParamInterface<const char*> {};

// kill -9 of a controller attached with --root-pid while jobs wait: the
// watchdog resumes them at once and the build ends as it would have without
// swamp-bpf. (No memory limit here: --mem-budget makes the controller stop jobs.)
TEST_P(SigkillTest, NothingStaysStoppedOrFrozen) {
    std::string action = GetParam();
    fs::path out = fs::temp_directory_path() / ("swamp-kill-" + std::to_string(getpid()));
    std::string trace = out.string() + ".trace";
    fs::remove_all(out);
    std::string ignored;
    Child build = spawn({"/usr/bin/make", "-s", "-f", std::string(SOURCE_DIR) + "/tests/fakebuild/Makefile.demo",
                         std::string("HOG=") + HOG_BIN, "OUT=" + out.string(), "-j4"});
    Child swamp = spawn({SWAMP_BIN, "-q", "--no-history", "--action", action, "--mem-budget", "500M", "--trace", "--trace-output",
                         trace, "--root-pid", std::to_string(build.pid)});
    bool waiting = false;
    for (int i = 0; i < 600 && !waiting; i++) {
        usleep(50 * 1000);
        std::ifstream in(trace);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        waiting = text.find(" STOP ") != std::string::npos || text.find(" HOLD ") != std::string::npos;
    }
    ASSERT_TRUE(waiting) << "no job was ever stopped";
    ASSERT_EQ(kill(swamp.pid, SIGKILL), 0);
    finish(swamp, ignored);
    usleep(1000 * 1000);  // the promise: within 1 s
    EXPECT_TRUE(stopped_build_processes().empty()) << "a job stayed stopped after the controller was killed";
    EXPECT_TRUE(frozen_cgroups().empty()) << "a job cgroup stayed frozen after the controller was killed";
    if (!stopped_build_processes().empty() || !frozen_cgroups().empty()) {
        // do not leave the machine stuck: resume by hand before failing
        run({"/usr/bin/pkill", "-CONT", "-x", "hog"}, ignored);
        for (const auto& cg : frozen_cgroups()) std::ofstream(cg + "/cgroup.freeze") << "0";
    }
    EXPECT_EQ(finish(build, ignored), 0) << "the build ends as it would without swamp-bpf";
    EXPECT_TRUE(fs::exists(out / "app") && fs::exists(out / "tests"));
    fs::remove_all(out);
    fs::remove(trace);
}

INSTANTIATE_TEST_SUITE_P(Actuators, SigkillTest, ::testing::Values("signal", "freeze"));

}  // namespace
