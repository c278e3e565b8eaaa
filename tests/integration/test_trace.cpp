// `swamp-bpf trace` against real processes with known sizes: every fork, exec
// and exit with the right pids and parents, RSS peaks within 10%, and nothing
// from outside the tree.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "run_util.hpp"

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
        // the RSS steps climb to the allocation too
        auto rss = events_of(lines, pid, "rss");
        ASSERT_FALSE(rss.empty());
        uint64_t top = 0;
        for (const auto& r : rss) top = std::max(top, r["rss"].get<uint64_t>());
        EXPECT_NEAR(top / double(kMiB), double(mib), 0.10 * mib);
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
