// `swamp-bpf trace` against real processes with known sizes: every fork, exec
// and exit with the right pids and parents, RSS peaks within 10%, and nothing
// from outside the tree.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <tuple>
#include <set>
#include <sstream>

#include "run_util.hpp"
#include "source/bpf_source.hpp"

using namespace swamp::test;
using nlohmann::json;

namespace {

constexpr uint64_t kMiB = 1 << 20;

// "child PID MIB" lines printed by alloc_tree
std::map<uint32_t, uint64_t> children_of(const std::string& out) {
    std::map<uint32_t, uint64_t> m;
    std::istringstream in(out);
    std::string word;
    uint32_t pid;
    uint64_t mib;
    while (in >> word >> pid >> mib)
        if (word == "child") m[pid] = mib;
    return m;
}

std::vector<json> events_of(const std::vector<json>& lines, uint32_t pid, const std::string& kind) {
    std::vector<json> out;
    for (const auto& j : lines)
        if (j.value("pid", 0u) == pid && j.value("event", "") == kind) out.push_back(j);
    return out;
}

// Runs `swamp-bpf trace --json -o FILE ARGS...`; returns the trace's lines.
std::vector<json> trace_json(const std::vector<std::string>& args, int& status, std::string* cmd_out = nullptr) {
    char path[] = "/tmp/swamp-trace-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    std::vector<std::string> argv{SWAMP_BIN, "trace", "--json", "-o", path};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out;
    status = run(argv, out);
    if (cmd_out) *cmd_out = out;
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    unlink(path);
    return json_lines(text.str());
}

class TraceTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!is_root()) GTEST_SKIP() << "needs root to load BPF";
    }
};

TEST_F(TraceTest, LaunchModeSeesEveryProcessWithKnownPeaks) {
    // A process outside the tree, running at the same time.
    Child outside = spawn({ALLOC_TREE_BIN, "--hold-ms", "800", "96", "48"});

    int status;
    std::string out;
    auto lines = trace_json({"--", ALLOC_TREE_BIN, "64", "128", "256"}, status, &out);
    std::string outside_out;
    ASSERT_EQ(finish(outside, outside_out), 0);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0) << "trace exits with the command's status";

    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(children_of(out).size(), 3u) << "the command keeps its stdout";

    // The root: the first exec, of alloc_tree itself.
    const json& first = lines.front();
    ASSERT_EQ(first["event"], "exec");
    uint32_t root = first["pid"];
    EXPECT_EQ(first["argv"], json({ALLOC_TREE_BIN, "64", "128", "256"}));

    // The root's children, in fork order (alloc_tree runs them one by one).
    std::map<uint32_t, uint64_t> forked;  // child pid -> expected MiB, in order
    std::vector<uint64_t> sizes{64, 128, 256};
    size_t k = 0;
    for (const auto& j : lines)
        if (j["event"] == "fork" && j["ppid"] == root && !j["thread"].get<bool>()) forked[j["pid"]] = sizes.at(k++);
    ASSERT_EQ(forked.size(), 3u) << out;

    for (auto [pid, mib] : forked) {
        SCOPED_TRACE("child " + std::to_string(pid) + " of " + std::to_string(mib) + " MiB");
        auto execs = events_of(lines, pid, "exec");
        ASSERT_EQ(execs.size(), 1u);
        EXPECT_EQ(execs[0]["ppid"], root);
        auto exits = events_of(lines, pid, "exit");
        ASSERT_EQ(exits.size(), 1u);
        EXPECT_EQ(exits[0]["exit_code"], 0);
        EXPECT_EQ(exits[0]["ppid"], root);
        double peak = exits[0]["peak_rss"].get<uint64_t>() / double(kMiB);
        EXPECT_NEAR(peak, double(mib), 0.10 * mib) << "peak RSS within 10% of the allocation";
        // the RSS steps climb to the allocation too: an event comes each time RSS moved a step
        // (--rss-step) from the last one, so the top is at most a step below it
        auto rss = events_of(lines, pid, "rss");
        ASSERT_FALSE(rss.empty());
        uint64_t top = 0;
        for (const auto& r : rss) top = std::max(top, r["rss"].get<uint64_t>());
        EXPECT_GE(top / double(kMiB), double(mib) - swamp::BpfOptions{}.rss_step / double(kMiB));
        EXPECT_LE(top / double(kMiB), 1.10 * mib);
    }
    auto root_exit = events_of(lines, root, "exit");
    ASSERT_EQ(root_exit.size(), 1u);
    EXPECT_EQ(root_exit[0]["exit_code"], 0);

    // Nothing from the process outside the tree, nor from its children.
    std::set<uint32_t> foreign{uint32_t(outside.pid)};
    for (auto [pid, mib] : children_of(outside_out)) foreign.insert(pid);
    ASSERT_EQ(foreign.size(), 3u) << outside_out;
    for (const auto& j : lines) EXPECT_FALSE(foreign.count(j["pid"].get<uint32_t>())) << j.dump();

    // Every pid seen is the root or was forked inside the tree.
    std::set<uint32_t> known{root};
    for (const auto& j : lines) {
        if (j["event"] == "fork") known.insert(j["pid"].get<uint32_t>());
        EXPECT_TRUE(known.count(j["pid"].get<uint32_t>())) << j.dump();
    }
}

TEST_F(TraceTest, RootPidModeAdoptsExistingDescendants) {
    // A tree that already exists when tracing starts: sh -> sleep, then alloc_tree.
    std::string script = std::string("sleep 1; exec ") + ALLOC_TREE_BIN + " 64";
    Child tree = spawn({"/bin/sh", "-c", script});
    usleep(200 * 1000);
    int status;
    auto lines = trace_json({"--root-pid", std::to_string(tree.pid)}, status);
    std::string tree_out;
    ASSERT_EQ(finish(tree, tree_out), 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);

    std::string out;
    for (const auto& j : lines) out += j.dump() + "\n";
    auto children = children_of(tree_out);
    ASSERT_EQ(children.size(), 1u);
    uint32_t child = children.begin()->first;
    // the sleep that existed before tracing started is seen exiting
    bool sleep_exit = false;
    for (const auto& j : lines)
        if (j["event"] == "exit" && j["comm"] == "sleep" && j["ppid"] == tree.pid) sleep_exit = true;
    EXPECT_TRUE(sleep_exit) << out;
    auto exits = events_of(lines, child, "exit");
    ASSERT_EQ(exits.size(), 1u) << out;
    EXPECT_NEAR(exits[0]["peak_rss"].get<uint64_t>() / double(kMiB), 64.0, 6.4);
    EXPECT_EQ(events_of(lines, tree.pid, "exit").size(), 1u) << "the root's own exit ends the trace";
}

TEST_F(TraceTest, RecordingReplaysToTheSameEvents) {
    char path[] = "/tmp/swamp-record-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    int status;
    auto live = trace_json({"--record", path, "--", ALLOC_TREE_BIN, "--hold-ms", "50", "32"}, status);
    ASSERT_EQ(status, 0);
    std::string replayed;
    ASSERT_EQ(run({SWAMP_BIN, "replay", "--json", path}, replayed), 0);
    unlink(path);
    EXPECT_GT(live.size(), 5u);
    EXPECT_EQ(json_lines(replayed), live);
}

TEST_F(TraceTest, LaunchModeExitsWithTheCommandsStatus) {
    int status;
    trace_json({"--", "/bin/sh", "-c", "exit 7"}, status);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 7);
    trace_json({"--", "/nonexistent/command"}, status);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 127);
}

TEST_F(TraceTest, BadRootPidIsAClearError) {
    std::string out;
    for (const char* pid : {"1", "999999999"}) {
        int status = run({SWAMP_BIN, "trace", "--root-pid", pid}, out);
        ASSERT_TRUE(WIFEXITED(status));
        EXPECT_EQ(WEXITSTATUS(status), 4) << "pid " << pid;
    }
}

TEST_F(TraceTest, RawTracepointVariantWorksToo) {
    // The no-in-kernel-BTF path: raw_tp programs with CO-RE from a BTF file.
    int status;
    auto lines = trace_json({"--attach", "raw_tp", "--btf", "/sys/kernel/btf/vmlinux", "--", ALLOC_TREE_BIN,
                             "--hold-ms", "50", "64"},
                            status);
    ASSERT_EQ(status, 0);
    std::string out;
    for (const auto& j : lines) out += j.dump() + "\n";
    bool found = false;
    for (const auto& j : lines)
        if (j["event"] == "exit" && j["exit_code"] == 0 && j["peak_rss"].get<uint64_t>() > 60 * kMiB &&
            j["peak_rss"].get<uint64_t>() < 71 * kMiB)
            found = true;
    EXPECT_TRUE(found) << out;
}

// The path of a kernel built without BTF (Raspberry Pi OS): /sys/kernel/btf is
// hidden in a mount namespace, and the only BTF is the reduced one the build
// cut with `bpftool gen min_core_btf`. The plan must pick raw_tp on its own.
TEST_F(TraceTest, WithoutKernelBtfAMinCoreBtfFileIsEnough) {
    if (access(MIN_BTF_FILE, R_OK) != 0) GTEST_SKIP() << MIN_BTF_FILE << " was not built (this kernel has no BTF)";
    const std::string hide = "mount -t tmpfs none /sys/kernel/btf && test ! -e /sys/kernel/btf/vmlinux && exec ";
    std::string probe_out;
    int status = run({"/usr/bin/unshare", "-m", "/bin/sh", "-c",
                      hide + SWAMP_BIN + " probe --json --btf " + MIN_BTF_FILE},
                     probe_out);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << probe_out;
    json probe = json::parse(probe_out);
    EXPECT_EQ(probe["kernel_btf"], false) << probe_out;
    EXPECT_EQ(probe["attach"], "raw_tp") << probe_out;
    EXPECT_EQ(probe["btf_source"], MIN_BTF_FILE);

    char path[] = "/tmp/swamp-nobtf-XXXXXX";
    close(mkstemp(path));
    std::string out;
    status = run({"/usr/bin/unshare", "-m", "/bin/sh", "-c",
                  hide + SWAMP_BIN + " trace --json -o " + path + " --btf " + MIN_BTF_FILE + " -- " + ALLOC_TREE_BIN +
                      " --hold-ms 50 64 96"},
                 out);
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    unlink(path);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << text.str();
    auto lines = json_lines(text.str());
    auto children = children_of(out);
    ASSERT_EQ(children.size(), 2u) << out;
    for (auto [pid, mib] : children) {
        EXPECT_EQ(events_of(lines, pid, "fork").size(), 1u) << "pid " << pid << "\n" << text.str();
        EXPECT_FALSE(events_of(lines, pid, "rss").empty()) << "pid " << pid;
        auto exits = events_of(lines, pid, "exit");
        ASSERT_EQ(exits.size(), 1u) << "pid " << pid;
        double peak = double(exits[0]["peak_rss"].get<uint64_t>()) / kMiB;
        EXPECT_NEAR(peak, double(mib), 0.1 * double(mib)) << "pid " << pid;
    }
}

}  // namespace

// ---- the no-BTF variant (bpf/swamp_nobtf.bpf.c) -----------------------------

// Runs `cmd` in a mount namespace where /sys/kernel/btf is empty, as on a kernel
// built without BTF (Raspberry Pi OS), with no --btf.
int run_without_btf(const std::string& cmd, std::string& out) {
    return run({"/usr/bin/unshare", "-m", "/bin/sh", "-c",
                "mount -t tmpfs none /sys/kernel/btf && test ! -e /sys/kernel/btf/vmlinux && exec " + cmd},
               out);
}

// trace --json of `args`, its lines; in a namespace without BTF if `hide_btf`.
std::vector<json> trace_lines(const std::string& args, bool hide_btf, std::string& cmd_out) {
    char path[] = "/tmp/swamp-nobtf-XXXXXX";
    close(mkstemp(path));
    std::string cmd = std::string(SWAMP_BIN) + " trace --json -o " + path + " " + args;
    int status = hide_btf ? run_without_btf(cmd, cmd_out) : run({"/bin/sh", "-c", cmd}, cmd_out);
    std::string text = file_text(path);
    unlink(path);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << cmd_out << text;
    return json_lines(text);
}

TEST_F(TraceTest, WithoutAnyBtfTheTracepointVariantSeesATree) {
    std::string out;
    int status = run_without_btf(std::string(SWAMP_BIN) + " probe --json", out);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
    json probe = json::parse(out);
    EXPECT_EQ(probe["kernel_btf"], false) << out;
    EXPECT_EQ(probe["btf_source"], "") << out;
    EXPECT_EQ(probe["attach"], "tracepoint") << out;
    EXPECT_FALSE(probe["losses"].empty()) << out;

    // sh -> alloc_tree -> two children; sh then runs a short-lived true
    out.clear();
    auto lines = trace_lines(std::string("-- /bin/sh -c '") + ALLOC_TREE_BIN + " --hold-ms 50 64 96; /bin/true'", true, out);
    ASSERT_FALSE(lines.empty()) << out;
    ASSERT_EQ(lines.front()["event"], "exec");
    uint32_t sh = lines.front()["pid"];
    EXPECT_EQ(lines.front()["argv"], json({"/bin/sh", "-c", std::string(ALLOC_TREE_BIN) + " --hold-ms 50 64 96; /bin/true"}))
        << "the command line, read from /proc";
    auto children = children_of(out);
    ASSERT_EQ(children.size(), 2u) << out;
    std::string all;
    for (const auto& j : lines) all += j.dump() + "\n";
    for (auto [pid, mib] : children) {
        SCOPED_TRACE("child " + std::to_string(pid) + " of " + std::to_string(mib) + " MiB\n" + all);
        auto forks = events_of(lines, pid, "fork");
        ASSERT_EQ(forks.size(), 1u);
        EXPECT_FALSE(forks[0]["thread"].get<bool>());
        EXPECT_EQ(events_of(lines, pid, "exec").size(), 1u);
        auto rss = events_of(lines, pid, "rss");
        ASSERT_FALSE(rss.empty());
        uint64_t top = 0;
        for (const auto& r : rss) top = std::max(top, r["rss"].get<uint64_t>());
        EXPECT_NEAR(double(top) / kMiB, double(mib), 0.1 * double(mib));
        auto exits = events_of(lines, pid, "exit");
        ASSERT_EQ(exits.size(), 1u);
        EXPECT_EQ(exits[0]["status_known"], false);
        EXPECT_NEAR(double(exits[0]["peak_rss"].get<uint64_t>()) / kMiB, double(mib), 0.1 * double(mib));
    }
    // the root's fork of alloc_tree and of true, and every exit, the root's last
    int sh_forks = 0;
    for (const auto& j : lines)
        if (j["event"] == "fork" && j["ppid"] == sh) sh_forks++;
    EXPECT_EQ(sh_forks, 2) << all;
    EXPECT_EQ(lines.back()["event"], "exit") << all;
    EXPECT_EQ(lines.back()["pid"], sh) << all;
}

// The tracepoint variant forced on a kernel with BTF sees what the CO-RE
// variant sees on the same workload: the same processes (by command line and
// parent), and peaks within one RSS step.
TEST_F(TraceTest, TheTracepointVariantMatchesTheCoreVariant) {
    const std::string workload = std::string("-- /bin/sh -c '") + ALLOC_TREE_BIN + " --hold-ms 50 48 160 96 & " +
                                 ALLOC_TREE_BIN + " --hold-ms 50 32; wait'";
    struct Proc {
        std::string command;  // argv joined
        std::string parent;   // the parent's command ("" for the root)
        uint64_t peak = 0;
        bool operator<(const Proc& o) const { return std::tie(command, parent) < std::tie(o.command, o.parent); }
    };
    auto processes_of = [](const std::vector<json>& lines) {
        std::map<uint32_t, std::string> command;
        std::map<uint32_t, uint32_t> parent;
        std::map<uint32_t, uint64_t> peak;
        for (const auto& j : lines) {
            uint32_t pid = j["pid"];
            if (j["event"] == "exec") {
                std::string c;
                for (const auto& a : j["argv"]) c += a.get<std::string>() + " ";
                command[pid] = c;
                if (!parent.count(pid)) parent[pid] = j["ppid"];
            }
            if (j["event"] == "fork" && !j["thread"].get<bool>()) parent[pid] = j["ppid"];
            if (j["event"] == "exit") peak[pid] = j["peak_rss"];
        }
        std::vector<Proc> out;
        for (auto [pid, c] : command) out.push_back({c, command.count(parent[pid]) ? command[parent[pid]] : "", peak[pid]});
        std::sort(out.begin(), out.end());
        return out;
    };
    std::string out_core, out_tp;
    auto core = processes_of(trace_lines(workload, false, out_core));
    auto tp = processes_of(trace_lines("--attach tracepoint " + workload, false, out_tp));
    ASSERT_EQ(core.size(), 7u) << out_core;  // sh, 2 alloc_tree, 4 children
    ASSERT_EQ(tp.size(), core.size()) << out_tp;
    for (size_t i = 0; i < core.size(); i++) {
        SCOPED_TRACE(core[i].command);
        EXPECT_EQ(tp[i].command, core[i].command);
        EXPECT_EQ(tp[i].parent, core[i].parent);
        EXPECT_NEAR(double(tp[i].peak), double(core[i].peak), double(16 << 20)) << "peaks within one step";
    }
}
