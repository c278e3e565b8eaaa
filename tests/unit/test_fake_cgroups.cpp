// Cgroup discovery, freezing and the recovery of leftovers on fake trees in a
// temp dir (FsRoot): fake /proc files and cgroup directories, no root needed.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "actuator/freeze_actuator.hpp"
#include "actuator/leftovers.hpp"
#include "actuator/vetting.hpp"
#include "source/probe.hpp"
#include "sys/cgroupfs.hpp"
#include "sys/host_features.hpp"
#include "sys/memory_reader.hpp"
#include "sys/mounts.hpp"
#include "test_util.hpp"
#include "util/error.hpp"

using namespace swamp;
using swamp::test::stat_line;

namespace {

// This machine's layout: cgroup v1 controllers beside a cgroup2 mount at .../unified.
constexpr const char* kHybridMounts =
    "tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0\n"
    "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n"
    "cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n"
    "cgroup /sys/fs/cgroup/freezer cgroup rw,relatime,freezer 0 0\n"
    "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n";
constexpr const char* kPureV2Mounts =
    "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
    "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n";
constexpr const char* kMeminfo = "MemTotal:       16777216 kB\nMemAvailable:    8388608 kB\n";
constexpr pid_t kBuildRoot = 4242;

// A fake root: files written at absolute paths under a temp dir.
struct FakeTree {
    test::TempDir dir;
    FsRoot root() const { return FsRoot{dir.path}; }
    // What the controller's probe would find in this tree.
    HostFeatures host() const { return find_host_features(root()); }
    std::string path(const std::string& abs) const { return dir.path + abs; }
    void put(const std::string& abs, const std::string& text) const {
        std::filesystem::create_directories(std::filesystem::path(path(abs)).parent_path());
        std::ofstream(path(abs)) << text;
    }
    void put(std::initializer_list<std::pair<std::string, std::string>> files) const {
        for (const auto& [abs, text] : files) put(abs, text);
    }
    void mkdir(const std::string& abs) const { std::filesystem::create_directories(path(abs)); }
    std::string get(const std::string& abs) const {
        std::ifstream in(path(abs));
        std::ostringstream s;
        s << in.rdbuf();
        return s.str();
    }
    bool exists(const std::string& abs) const { return std::filesystem::exists(path(abs)); }
};

// The /proc files of a discovery: the mounts, meminfo and the build root's cgroups.
void put_proc(const FakeTree& t, const char* mounts, const std::string& build_root_cgroups) {
    t.put("/proc/self/mounts", mounts);
    t.put("/proc/meminfo", kMeminfo);
    t.put("/proc/4242/cgroup", build_root_cgroups);
}

TEST(FakeCgroups, MountsAreFoundUnderTheRoot) {
    FakeTree t;
    t.put("/proc/self/mounts", kHybridMounts);
    Mounts m(t.root());
    EXPECT_EQ(m.find("cgroup2"), t.path("/sys/fs/cgroup/unified"));
    EXPECT_EQ(m.find("cgroup", "memory"), t.path("/sys/fs/cgroup/memory"));
    EXPECT_EQ(m.find("cgroup", "blkio"), std::nullopt);
    EXPECT_EQ(Mounts(FsRoot{t.path("/nowhere")}).find("cgroup2"), std::nullopt);
}

TEST(FakeCgroups, HostFeaturesAreTheMountsAndPsiUnderTheRoot) {
    FakeTree t;
    t.put("/proc/self/mounts", kHybridMounts);
    HostFeatures h = find_host_features(t.root());
    EXPECT_EQ(h.root.prefix, t.root().prefix);
    EXPECT_EQ(h.cgroup2, t.path("/sys/fs/cgroup/unified"));
    EXPECT_EQ(h.cgroup1_memory, t.path("/sys/fs/cgroup/memory"));
    EXPECT_FALSE(h.psi);  // no /proc/pressure/memory

    FakeTree v2;
    v2.put("/proc/self/mounts", kPureV2Mounts);
    v2.put("/proc/pressure/memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    h = find_host_features(v2.root());
    EXPECT_EQ(h.cgroup2, v2.path("/sys/fs/cgroup"));
    EXPECT_EQ(h.cgroup1_memory, std::nullopt);
    EXPECT_TRUE(h.psi);
}

TEST(FakeCgroups, ProbeKernelCarriesTheHostFeaturesOfItsRoot) {
    FakeTree t;
    t.put("/proc/self/mounts", kHybridMounts);
    t.put("/proc/pressure/memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    KernelFeatures f = probe_kernel("", t.root());
    EXPECT_EQ(f.host.root.prefix, t.root().prefix);
    EXPECT_EQ(f.host.cgroup2, t.path("/sys/fs/cgroup/unified"));
    EXPECT_EQ(f.host.cgroup1_memory, t.path("/sys/fs/cgroup/memory"));
    EXPECT_TRUE(f.host.psi);
}

TEST(FakeCgroups, HybridDiscoveryTakesTheV1MemoryCgroupWithALimit) {
    FakeTree t;
    put_proc(t, kHybridMounts, "4:memory:/build/make\n1:cpu:/\n0::/user.slice\n");
    t.put({
        // the build root's own cgroup has no limit; its parent has 2 GiB
        {"/sys/fs/cgroup/memory/build/make/memory.limit_in_bytes", "9223372036854771712\n"},
        {"/sys/fs/cgroup/memory/build/memory.limit_in_bytes", "2147483648\n"},
        {"/sys/fs/cgroup/memory/build/memory.usage_in_bytes", "1073741824\n"},
        {"/sys/fs/cgroup/memory/build/memory.stat", "cache 0\ntotal_inactive_file 268435456\n"},
        // a v2 limit is not looked at while v1 memory is mounted
        {"/sys/fs/cgroup/unified/user.slice/memory.max", "1048576\n"},
    });

    MemoryReader r(kBuildRoot, t.host());
    EXPECT_NE(r.describe().find("memory cgroup v1 /build (" + t.path("/sys/fs/cgroup/memory/build") + "), limit"),
              std::string::npos)
        << r.describe();
    MemorySample s = r.read();
    EXPECT_EQ(s.mem_total, 16ull << 30);
    EXPECT_EQ(s.mem_available, 8ull << 30);
    EXPECT_EQ(s.cg_limit, 2ull << 30);
    EXPECT_EQ(s.cg_usage, 768ull << 20);  // usage less inactive file pages
    EXPECT_FALSE(s.psi);                   // no /proc/pressure/memory in the tree
}

TEST(FakeCgroups, HybridWithoutAnyLimitTakesTheBuildRootsOwnV1Cgroup) {
    FakeTree t;
    put_proc(t, kHybridMounts, "4:memory:/build\n0::/\n");
    t.put({{"/sys/fs/cgroup/memory/build/memory.limit_in_bytes", "max\n"},
           {"/sys/fs/cgroup/memory/build/memory.usage_in_bytes", "4096\n"}});
    MemoryReader r(kBuildRoot, t.host());
    EXPECT_NE(r.describe().find("memory cgroup v1 /build (" + t.path("/sys/fs/cgroup/memory/build") + "), no limit"),
              std::string::npos)
        << r.describe();
    EXPECT_EQ(r.read().cg_limit, std::nullopt);
}

TEST(FakeCgroups, PureV2DiscoveryWalksUpToTheLimitAndItsPressureFile) {
    FakeTree t;
    put_proc(t, kPureV2Mounts, "0::/user.slice/build.scope\n");
    t.put({
        {"/proc/pressure/memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"},
        {"/sys/fs/cgroup/user.slice/build.scope/memory.max", "max\n"},
        {"/sys/fs/cgroup/user.slice/build.scope/memory.current", "100\n"},
        {"/sys/fs/cgroup/user.slice/memory.max", "4294967296\n"},
        {"/sys/fs/cgroup/user.slice/memory.current", "3221225472\n"},
        {"/sys/fs/cgroup/user.slice/memory.stat", "anon 1\ninactive_file 1073741824\n"},
        {"/sys/fs/cgroup/user.slice/memory.pressure", ""},
    });

    MemoryReader r(kBuildRoot, t.host());
    std::string slice = t.path("/sys/fs/cgroup/user.slice");
    EXPECT_NE(r.describe().find("memory cgroup v2 /user.slice (" + slice + "), limit"), std::string::npos)
        << r.describe();
    // the trigger goes on the limiting cgroup's own pressure file (here a plain file takes it)
    EXPECT_NE(r.describe().find("on " + slice + "/memory.pressure"), std::string::npos) << r.describe();
    MemorySample s = r.read();
    EXPECT_EQ(s.cg_limit, 4ull << 30);
    EXPECT_EQ(s.cg_usage, 2ull << 30);
}

TEST(FakeCgroups, TheMemoryReaderUsesTheMountsAndPsiItIsHandedOnly) {
    FakeTree t;
    // the mount table points at a cgroup with a 1 GiB limit; the reader is handed another mount
    put_proc(t, kPureV2Mounts, "0::/build\n");
    t.put({
        {"/proc/pressure/memory", "some avg10=5.00 avg60=0.00 avg300=0.00 total=0\n"},
        {"/sys/fs/cgroup/build/memory.max", "1073741824\n"},
        {"/sys/fs/cgroup/build/memory.current", "1\n"},
        {"/probed/cgroup2/build/memory.max", "2147483648\n"},
        {"/probed/cgroup2/build/memory.current", "1048576\n"},
    });
    HostFeatures host{t.root(), t.path("/probed/cgroup2"), std::nullopt, false};

    MemoryReader r(kBuildRoot, host);
    EXPECT_NE(r.describe().find("memory cgroup v2 /build (" + t.path("/probed/cgroup2/build") + "), limit"),
              std::string::npos)
        << r.describe();
    EXPECT_NE(r.describe().find("no PSI trigger"), std::string::npos) << r.describe();
    MemorySample s = r.read();
    EXPECT_EQ(s.cg_limit, 2ull << 30);
    EXPECT_EQ(s.cg_usage, 1ull << 20);
    EXPECT_FALSE(s.psi);  // /proc/pressure/memory is there, but the probe said no PSI

    host.psi = true;  // now the trigger goes on the system's file (a plain file here takes it)
    std::string described = MemoryReader(kBuildRoot, host).describe();
    EXPECT_NE(described.find("on " + t.path("/proc/pressure/memory")), std::string::npos) << described;
}

TEST(FakeCgroups, NoMemoryCgroupWithoutMounts) {
    FakeTree t;
    put_proc(t, "proc /proc proc rw 0 0\n", "4:memory:/build\n0::/\n");
    MemoryReader r(kBuildRoot, t.host());
    EXPECT_EQ(r.describe().rfind("memory cgroup: none found", 0), 0u) << r.describe();
    EXPECT_EQ(r.read().mem_total, 16ull << 30);
}

// A cgroup2 tree where the build root sits in /build, with our directory made
// ahead (a fake cgroup has no control files of its own).
struct FreezeTree : FakeTree {
    std::string ours = "/sys/fs/cgroup/unified/build/swamp-bpf-" + std::to_string(::getpid());
    FreezeTree() {
        put("/proc/self/mounts", kHybridMounts);
        put("/proc/4242/cgroup", "4:memory:/\n0::/build\n");
        put(ours + "/cgroup.freeze", "");
    }
    void add_job(uint64_t job, bool freezes) const {
        std::string cg = ours + "/job-" + std::to_string(job);
        put(cg + "/cgroup.freeze", "0");
        put(cg + "/cgroup.events", std::string("populated 1\nfrozen ") + (freezes ? "1" : "0") + "\n");
    }
};

Vetter no_protection() { return Vetter({}); }

TEST(FakeCgroups, FreezeWritesCgroupFreezeAndWaitsForCgroupEvents) {
    FreezeTree t;
    t.add_job(1, true);
    FreezeActuator a(kBuildRoot, no_protection(), t.host());
    EXPECT_EQ(a.dir(), t.path(t.ours));
    EXPECT_EQ(t.get(t.ours + "/cgroup.freeze"), "0");
    EXPECT_EQ(a.job_dir(1), t.path(t.ours + "/job-1"));

    std::string error;
    ASSERT_TRUE(a.stop(1, {}, error)) << error;
    EXPECT_EQ(t.get(t.ours + "/job-1/cgroup.freeze"), "1");
    EXPECT_TRUE(a.stopped().count(1));
    ASSERT_TRUE(a.resume(1, {}, error)) << error;
    EXPECT_EQ(t.get(t.ours + "/job-1/cgroup.freeze"), "0");
    EXPECT_FALSE(a.stopped().count(1));
}

TEST(FakeCgroups, AJobThatDoesNotFreezeIsThawedAgain) {
    FreezeTree t;
    t.add_job(2, false);  // cgroup.events never says "frozen 1"
    FreezeActuator a(kBuildRoot, no_protection(), t.host());
    std::string error;
    EXPECT_FALSE(a.stop(2, {}, error));
    EXPECT_NE(error.find("did not freeze within 1 s"), std::string::npos) << error;
    EXPECT_EQ(t.get(t.ours + "/job-2/cgroup.freeze"), "0");  // never half stopped
    EXPECT_FALSE(a.stopped().count(2));
}

TEST(FakeCgroups, ResumeAllThawsEveryJobCgroup) {
    FreezeTree t;
    t.add_job(1, true);
    t.add_job(2, true);
    {
        FreezeActuator a(kBuildRoot, no_protection(), t.host());
        std::string error;
        ASSERT_TRUE(a.stop(1, {}, error)) << error;
        ASSERT_TRUE(a.stop(2, {}, error)) << error;
    }  // the destructor resumes all
    EXPECT_EQ(t.get(t.ours + "/job-1/cgroup.freeze"), "0");
    EXPECT_EQ(t.get(t.ours + "/job-2/cgroup.freeze"), "0");
}

TEST(FakeCgroups, FreezeNeedsCgroup2AndCgroupFreeze) {
    FakeTree none;
    none.put("/proc/self/mounts", "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n");
    try {
        FreezeActuator a(kBuildRoot, no_protection(), none.host());
        FAIL() << "no cgroup2 mount, yet no error";
    } catch (const UserError& e) {
        EXPECT_NE(std::string(e.what()).find("no cgroup2 filesystem is mounted"), std::string::npos) << e.what();
    }

    FakeTree old;  // a kernel before 5.2: our directory gets no cgroup.freeze
    old.put("/proc/self/mounts", kPureV2Mounts);
    old.put("/proc/4242/cgroup", "0::/build\n");
    old.mkdir("/sys/fs/cgroup/build");
    try {
        FreezeActuator a(kBuildRoot, no_protection(), old.host());
        FAIL() << "no cgroup.freeze, yet no error";
    } catch (const UserError& e) {
        EXPECT_NE(std::string(e.what()).find("needs cgroup.freeze"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(old.exists("/sys/fs/cgroup/build/swamp-bpf-" + std::to_string(::getpid())));  // removed again
}

TEST(FakeCgroups, FreezeUsesTheCgroup2MountItIsHandedOnly) {
    FreezeTree t;  // its mount table lists a cgroup2 mount
    HostFeatures none = t.host();
    none.cgroup2.reset();
    try {
        FreezeActuator a(kBuildRoot, no_protection(), none);
        FAIL() << "handed no cgroup2 mount, yet no error";
    } catch (const UserError& e) {
        EXPECT_NE(std::string(e.what()).find("no cgroup2 filesystem is mounted"), std::string::npos) << e.what();
    }

    FakeTree moved;  // a table without cgroup2; the mount is handed
    moved.put("/proc/self/mounts", "proc /proc proc rw 0 0\n");
    moved.put("/proc/4242/cgroup", "0::/build\n");
    std::string ours = "/probed/build/swamp-bpf-" + std::to_string(::getpid());
    moved.put(ours + "/cgroup.freeze", "");
    HostFeatures host = moved.host();
    host.cgroup2 = moved.path("/probed");
    FreezeActuator a(kBuildRoot, no_protection(), host);
    EXPECT_EQ(a.dir(), moved.path(ours));
}

TEST(FakeCgroups, CgroupProcsAndDirEntries) {
    FakeTree t;
    t.put("/cg/cgroup.procs", "12\n345\n\n");
    t.mkdir("/cg/job-1");
    EXPECT_EQ(cgroup_procs(t.path("/cg")), (std::vector<pid_t>{12, 345}));
    EXPECT_TRUE(cgroup_procs(t.path("/none")).empty());
    auto names = dir_entries(t.path("/cg"));
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"cgroup.procs", "job-1"}));
    EXPECT_TRUE(dir_entries(t.path("/none")).empty());
}

TEST(FakeCgroups, WriteFileWritesAnExistingFileButNeverThroughALink) {
    FakeTree t;
    t.put("/cg/cgroup.freeze", "0");
    t.put("/elsewhere", "untouched");
    std::filesystem::create_symlink(t.path("/elsewhere"), t.path("/cg/job.freeze"));
    EXPECT_EQ(write_file(t.path("/cg/cgroup.freeze"), "1"), 0);
    EXPECT_EQ(read_file(t.path("/cg/cgroup.freeze")), "1");
    EXPECT_EQ(write_file(t.path("/cg/job.freeze"), "1"), ELOOP);
    EXPECT_EQ(read_file(t.path("/elsewhere")), "untouched");
    EXPECT_EQ(write_file(t.path("/cg/missing"), "1"), ENOENT) << "it never creates a file";
}

// The state directory of a test, put back afterwards.
struct StateDirFor {
    std::string before = state_dir();
    explicit StateDirFor(const std::string& dir) {
        std::filesystem::create_directories(dir);
        set_state_dir(dir);
    }
    ~StateDirFor() { set_state_dir(before); }
};

TEST(FakeCgroups, RecoveryThawsWhatADeadInstanceLeftAndSparesALiveOne) {
    FakeTree t;
    t.put("/proc/self/mounts", kPureV2Mounts);
    StateDirFor state(t.path("/run/swamp-bpf"));
    // instance 900 died (nothing in the fake /proc); its job 3 stayed frozen
    std::string dead = "/sys/fs/cgroup/build/swamp-bpf-900";
    t.put(dead + "/job-3/cgroup.freeze", "1");
    t.put(dead + "/job-4/cgroup.freeze", "0");
    t.put("/run/swamp-bpf/900.state", format_state({900, 11, 901, 12, t.path(dead), {}}));
    // instance 700 lives on: its controller's start time matches
    std::string live = "/sys/fs/cgroup/build/swamp-bpf-700";
    t.put(live + "/job-1/cgroup.freeze", "1");
    t.put("/proc/700/stat", stat_line(700, "swamp-bpf", 'S', 1, 0, 21));
    t.put("/run/swamp-bpf/700.state", format_state({700, 21, 0, 0, t.path(live), {}}));
    // instance 800's state file is gone, and so is it; 600's is gone but it lives
    std::string orphan = "/sys/fs/cgroup/other/swamp-bpf-800";
    t.put(orphan + "/job-9/cgroup.freeze", "1");
    std::string running = "/sys/fs/cgroup/other/swamp-bpf-600";
    t.put(running + "/job-2/cgroup.freeze", "1");
    t.put("/proc/600/stat", stat_line(600, "swamp-bpf", 'S', 1, 0, 5));
    t.put("/run/swamp-bpf/bad.state", "nonsense\n");

    Recovery r = recover_leftovers(t.host());
    EXPECT_EQ(r.thawed, 2);
    EXPECT_EQ(r.resumed, 0);
    std::sort(r.instances.begin(), r.instances.end());
    EXPECT_EQ(r.instances, (std::vector<pid_t>{800, 900}));
    EXPECT_EQ(r.unreadable, std::vector<std::string>{t.path("/run/swamp-bpf/bad.state")});
    EXPECT_EQ(t.get(dead + "/job-3/cgroup.freeze"), "0");
    EXPECT_EQ(t.get(orphan + "/job-9/cgroup.freeze"), "0");
    EXPECT_FALSE(t.exists("/run/swamp-bpf/900.state"));
    EXPECT_EQ(t.get(live + "/job-1/cgroup.freeze"), "1");
    EXPECT_EQ(t.get(running + "/job-2/cgroup.freeze"), "1");
    EXPECT_TRUE(t.exists("/run/swamp-bpf/700.state"));
}

TEST(FakeCgroups, RecoveryLooksForOrphanCgroupsUnderTheHandedMountOnly) {
    FakeTree t;
    t.put("/proc/self/mounts", kPureV2Mounts);
    StateDirFor state(t.path("/run/swamp-bpf"));
    std::string listed = "/sys/fs/cgroup/swamp-bpf-800", probed = "/probed/swamp-bpf-801";
    t.put(listed + "/job-1/cgroup.freeze", "1");
    t.put(probed + "/job-1/cgroup.freeze", "1");
    HostFeatures host = t.host();
    host.cgroup2 = t.path("/probed");

    Recovery r = recover_leftovers(host);
    EXPECT_EQ(r.instances, std::vector<pid_t>{801});
    EXPECT_EQ(t.get(probed + "/job-1/cgroup.freeze"), "0");
    EXPECT_EQ(t.get(listed + "/job-1/cgroup.freeze"), "1");
}

TEST(FakeCgroups, RecoveryResumesAProcessADeadInstanceLeftStopped) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::raise(SIGSTOP);
        for (;;) ::pause();  // until killed: its continuing is the only state change to wait for
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, WUNTRACED), child);
    ASSERT_TRUE(WIFSTOPPED(status));

    FakeTree t;
    t.put("/proc/self/mounts", kPureV2Mounts);
    StateDirFor state(t.path("/run/swamp-bpf"));
    // the fake /proc says the child is the process instance 900 stopped (same start time)
    t.put("/proc/" + std::to_string(child) + "/stat", stat_line(child, "cc1plus", 'T', 1, 0, 77));
    t.put("/run/swamp-bpf/900.state", format_state({900, 11, 0, 0, "", {{1, child, 77}, {1, child, 78}}}));

    Recovery r = recover_leftovers(t.host());
    EXPECT_EQ(r.resumed, 1);  // the entry with another start time names a reused pid: left alone
    EXPECT_EQ(r.instances, std::vector<pid_t>{900});
    if (r.resumed == 0) ::kill(child, SIGKILL);  // fail below instead of waiting for ever
    EXPECT_EQ(::waitpid(child, &status, WCONTINUED), child);
    EXPECT_TRUE(WIFCONTINUED(status));
    ::kill(child, SIGKILL);
    EXPECT_EQ(::waitpid(child, &status, 0), child);
}

}  // namespace
