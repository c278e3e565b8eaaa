// swamp-bpf in a pid namespace of its own (a container, `unshare --pid`): the BPF side reports
// the host's pids, which name other processes there, so everything that loads BPF or signals
// processes refuses to start (the refusals themselves: test_bad_input.cpp). What touches no
// process still works there, and the way out the refusal names (a swamp-bpf on the host)
// manages a build inside the namespace.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "run_util.hpp"

using namespace swamp::test;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kInNamespace = {"/usr/bin/unshare", "--pid", "--fork", "--mount-proc"};

// argv run in a new pid namespace with its own /proc; stdout and stderr in `out`.
int in_namespace(std::vector<std::string> argv, std::string& out) {
    std::string cmd;
    for (const auto& a : argv) cmd += " '" + a + "'";
    std::vector<std::string> all = kInNamespace;
    all.insert(all.end(), {"/bin/sh", "-c", "exec" + cmd + " 2>&1"});
    out.clear();
    int status = run(all, out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class PidNamespaceTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!is_root()) GTEST_SKIP() << "needs root (unshare --pid)";
    }
};

TEST_F(PidNamespaceTest, ProbeSaysSwampBpfCannotRunThere) {
    std::string out;
    EXPECT_EQ(in_namespace({SWAMP_BIN, "probe"}, out), 5) << out;
    EXPECT_NE(out.find("NOTHING CAN WORK: swamp-bpf must run in the host's pid namespace"), std::string::npos) << out;
    EXPECT_EQ(in_namespace({SWAMP_BIN, "probe", "--json"}, out), 5) << out;
    nlohmann::json j = nlohmann::json::parse(out);
    EXPECT_EQ(j["pid_namespace"]["host"], false) << out;
    EXPECT_NE(j["error"].get<std::string>().find("host's pid namespace"), std::string::npos) << out;
    // on the host it is fine
    out.clear();
    ASSERT_EQ(WEXITSTATUS(run({SWAMP_BIN, "probe", "--json"}, out)), 0) << out;
    j = nlohmann::json::parse(out);
    EXPECT_EQ(j["pid_namespace"]["host"], true) << out;
    EXPECT_EQ(j["pid_namespace"]["inode"], 0xEFFFFFFCu) << out;
    EXPECT_TRUE(j["error"].is_null()) << out;
}

TEST_F(PidNamespaceTest, CommandsThatTouchNoProcessWorkThere) {
    fs::path dir = fresh_dir("pidns-nobpf");
    std::string fixture = std::string(SOURCE_DIR) + "/tests/fixtures/demo-j4-plain.jsonl";
    std::string out;
    EXPECT_EQ(in_namespace({SWAMP_BIN, "--help"}, out), 0) << out;
    EXPECT_EQ(in_namespace({SWAMP_BIN, "check-config", std::string(SOURCE_DIR) + "/config/swamp-bpf.conf"}, out), 0) << out;
    EXPECT_EQ(in_namespace({SWAMP_BIN, "replay", fixture}, out), 0) << out;
    EXPECT_NE(out.find(" exec "), std::string::npos) << out;
    EXPECT_EQ(in_namespace({SWAMP_BIN, "report", fixture, "-o", (dir / "t.svg").string()}, out), 0) << out;
    EXPECT_GT(fs::file_size(dir / "t.svg"), 1000u);
    EXPECT_EQ(in_namespace({SWAMP_BIN, "history", "--db", (dir / "h.db").string(), "list"}, out), 0) << out;
    fs::remove_all(dir);
}

class HostInstanceTest : public PidNamespaceTest, public ::testing::WithParamInterface<const char*> {};

// The refusal's way out: swamp-bpf on the host, given the host's pid of a build that runs in
// a pid namespace of its own (--root-pid), or finding it (service), stops and resumes that
// build's jobs (the host's numbers are the BPF side's), and nothing else; `ctl` inside the
// namespace talks to it.
TEST_P(HostInstanceTest, ManagesABuildInsideAPidNamespace) {
    const bool service = std::string(GetParam()) == "service";
    fs::path out = fresh_dir("pidns-build");
    std::string trace = (out / "trace").string(), sock = (out / "ctl.sock").string();
    const std::string marker = "SWAMP_PIDNS_BUILD=" + std::to_string(getpid());
    // three jobs that grow to 200 MiB at once, in a budget of 400 MiB: one must wait
    std::ofstream(out / "Makefile") << "all: a b c\na b c:\n\t" << HOG_BIN << " --mib 200 --cpu-s 3 --shape ramp --out $@\n";
    // for the service, make under a name of its own (a root it finds): this build and no other
    fs::copy_file("/usr/bin/make", out / "pidnsmake");
    std::string make_bin = service ? (out / "pidnsmake").string() : "/usr/bin/make";
    std::vector<std::string> swamp_args{SWAMP_BIN, "-q", "--no-history", "--mem-budget", "400M", "--cpus", "0",
                                        "--trace", "--trace-output", trace, "--socket", sock};
    std::vector<std::string> make = kInNamespace;
    make.insert(make.end(), {"/usr/bin/env", marker, make_bin, "-s", "-C", out.string(), "-j3"});
    Child build, swamp;
    if (service) {
        swamp_args.insert(swamp_args.begin() + 1, {"service", "--roots", "pidnsmake"});
        swamp = spawn(swamp_args);
        ASSERT_TRUE(wait_until([&] { return fs::exists(sock); }, 30)) << "the service did not start";
        build = spawn(make);
    } else {
        build = spawn(make);
        swamp_args.insert(swamp_args.end(), {"--root-pid", std::to_string(build.pid)});
        swamp = spawn(swamp_args);
    }
    // the build's processes (they carry the marker), and those of them seen stopped
    std::set<pid_t> ours;
    std::map<pid_t, std::string> stopped_ours;
    bool ctl_ok = false;
    std::string ctl_out;
    int build_status = -1;
    for (int i = 0; i < 1200 && waitpid(build.pid, &build_status, WNOHANG) == 0; i++) {
        for (const ProcInfo& p : processes()) {
            if (!has_env(p.pid, marker)) continue;
            ours.insert(p.pid);
            if (p.state == 'T') stopped_ours[p.pid] = p.comm;
        }
        if (!ctl_ok && fs::exists(sock))
            ctl_ok = in_namespace({SWAMP_BIN, "ctl", "--socket", sock, "status"}, ctl_out) == 0;
        usleep(100 * 1000);
    }
    close(build.out_fd);
    EXPECT_TRUE(WIFEXITED(build_status) && WEXITSTATUS(build_status) == 0) << "the build (unshare, make): " << build_status;
    std::string ignored;
    if (service) kill(swamp.pid, SIGTERM);  // as systemd stops it; a --root-pid one ends with its build
    int swamp_status = finish(swamp, ignored);
    EXPECT_TRUE(WIFEXITED(swamp_status) && WEXITSTATUS(swamp_status) == 0) << "swamp-bpf: " << swamp_status;
    std::string t = file_text(trace);
    // every pid the trace says it stopped or held is one of the build's, and what was seen
    // stopped of the build are its jobs (hog), never make
    std::istringstream lines(t);
    int stops = 0;
    for (std::string line; std::getline(lines, line);) {
        if (line.find(" STOP ") == std::string::npos && line.find(" HOLD ") == std::string::npos) continue;
        std::istringstream words(line);
        std::string time;
        pid_t pid = 0;
        words >> time >> pid;
        stops++;
        EXPECT_TRUE(ours.count(pid)) << "stopped pid " << pid << ", not the build's: " << line;
    }
    EXPECT_GT(stops, 0) << "the budget binds: no job was stopped\n" << t;
    EXPECT_NE(t.find(" RESUME "), std::string::npos) << t;
    EXPECT_FALSE(stopped_ours.empty()) << "no job of the build was ever seen stopped\n" << t;
    for (const auto& [pid, comm] : stopped_ours) EXPECT_EQ(comm, "hog") << pid;
    EXPECT_TRUE(stopped_build_processes(marker).empty()) << "a job was left stopped";
    EXPECT_TRUE(fs::exists(out / "a") && fs::exists(out / "b") && fs::exists(out / "c")) << "the build did not finish\n" << t;
    EXPECT_TRUE(ctl_ok) << "ctl status from inside the namespace: " << ctl_out;
    for (const std::string& left : stopped_build_processes(marker)) kill(std::stoi(left), SIGCONT);  // never hang the machine
    fs::remove_all(out);
}

INSTANTIATE_TEST_SUITE_P(Modes, HostInstanceTest, ::testing::Values("root_pid", "service"));

}  // namespace
