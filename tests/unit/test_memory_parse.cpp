#include <gtest/gtest.h>

#include "sys/memory_reader.hpp"

using namespace swamp;
using namespace swamp::memparse;

namespace {

const char* kMeminfo =
    "MemTotal:       24684092 kB\n"
    "MemFree:        23852260 kB\n"
    "MemAvailable:   24126328 kB\n"
    "Buffers:           43216 kB\n"
    "Cached:           473424 kB\n"
    "SwapCached:            0 kB\n";

const char* kMemoryStatV1 =
    "cache 1306624\n"
    "rss 2048000\n"
    "inactive_file 61440\n"
    "active_file 1245184\n"
    "hierarchical_memory_limit 9223372036854771712\n"
    "total_cache 1306624\n"
    "total_inactive_file 122880\n"
    "total_active_file 1245184\n";

const char* kPsi =
    "some avg10=12.34 avg60=5.00 avg300=1.20 total=51295\n"
    "full avg10=3.50 avg60=1.00 avg300=0.10 total=13464\n";

}  // namespace

TEST(MemParse, MeminfoInBytes) {
    auto m = parse_meminfo(kMeminfo);
    EXPECT_EQ(m.total, 24684092ull * 1024);
    EXPECT_EQ(m.available, 24126328ull * 1024);
}

TEST(MemParse, MeminfoMissingKeysAreZero) {
    auto m = parse_meminfo("MemFree: 12 kB\ngarbage\n\n");
    EXPECT_EQ(m.total, 0u);
    EXPECT_EQ(m.available, 0u);
    EXPECT_EQ(parse_meminfo("").total, 0u);
}

TEST(MemParse, KeyValueMatchesWholeKey) {
    EXPECT_EQ(key_value(kMemoryStatV1, "inactive_file"), 61440u);
    EXPECT_EQ(key_value(kMemoryStatV1, "total_inactive_file"), 122880u);
    EXPECT_EQ(key_value(kMemoryStatV1, "rss"), 2048000u);
    EXPECT_FALSE(key_value(kMemoryStatV1, "inactive").has_value());
    EXPECT_FALSE(key_value(kMemoryStatV1, "swap").has_value());
    EXPECT_FALSE(key_value("", "rss").has_value());
}

TEST(MemParse, KeyValueVmstatAndEvents) {
    EXPECT_EQ(key_value("pgfault 10\npswpin 7\npswpout 9\n", "pswpin"), 7u);
    EXPECT_EQ(key_value("pgfault 10\npswpin 7\npswpout 9", "pswpout"), 9u);  // no trailing newline
    const char* events = "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n";
    EXPECT_EQ(key_value(events, "oom_kill"), 1u);
    EXPECT_EQ(key_value(events, "oom"), 2u);
}

TEST(MemParse, PsiAvg10) {
    EXPECT_DOUBLE_EQ(*psi_avg10(kPsi, "some"), 12.34);
    EXPECT_DOUBLE_EQ(*psi_avg10(kPsi, "full"), 3.50);
    EXPECT_FALSE(psi_avg10("some avg60=1.00 total=3\n", "some").has_value());
    EXPECT_FALSE(psi_avg10(kPsi, "none").has_value());
    EXPECT_FALSE(psi_avg10("", "some").has_value());
    EXPECT_FALSE(psi_avg10("some avg10=abc\n", "some").has_value());
}

TEST(MemParse, OomControl) {
    EXPECT_EQ(oom_control_kills("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"), 3u);
    EXPECT_EQ(oom_control_kills("oom_kill_disable 1\nunder_oom 0\n"), 0u);  // kernel < 4.13
}

TEST(MemParse, ProcCgroupHybrid) {
    auto lines = parse_proc_cgroup(
        "9:name=systemd:/\n"
        "6:freezer:/\n"
        "4:memory:/process_api/a0b8\n"
        "2:cpu,cpuacct:/user.slice\n"
        "0::/build/job:odd\n");
    ASSERT_EQ(lines.size(), 5u);
    EXPECT_EQ(lines[3].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
    EXPECT_EQ(v1_cgroup_path(lines, "memory"), "/process_api/a0b8");
    EXPECT_EQ(v1_cgroup_path(lines, "cpuacct"), "/user.slice");
    EXPECT_FALSE(v1_cgroup_path(lines, "pids").has_value());
    EXPECT_EQ(v2_cgroup_path(lines), "/build/job:odd");  // a ':' in the path is kept
}

TEST(MemParse, ProcCgroupPureV2) {
    auto lines = parse_proc_cgroup("0::/user.slice/user-1000.slice/session-2.scope\n");
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_FALSE(v1_cgroup_path(lines, "memory").has_value());
    EXPECT_EQ(v2_cgroup_path(lines), "/user.slice/user-1000.slice/session-2.scope");
    EXPECT_TRUE(parse_proc_cgroup("").empty());
    EXPECT_TRUE(parse_proc_cgroup("garbage\n").empty());
}

TEST(MemParse, FindMount) {
    const char* mounts =
        "tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0\n"
        "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n"
        "cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n"
        "cgroup /sys/fs/cgroup/memsw\\040x cgroup rw,memory_recursiveprot 0 0\n"
        "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n";
    EXPECT_EQ(find_mount(mounts, "cgroup", "memory"), "/sys/fs/cgroup/memory");
    EXPECT_EQ(find_mount(mounts, "cgroup2"), "/sys/fs/cgroup/unified");
    EXPECT_EQ(find_mount(mounts, "cgroup", "memory_recursiveprot"), "/sys/fs/cgroup/memsw x");
    EXPECT_FALSE(find_mount(mounts, "cgroup", "freezer").has_value());
    EXPECT_FALSE(find_mount("", "cgroup2").has_value());
}

TEST(MemParse, Limit) {
    const uint64_t total = 16ull << 30;
    EXPECT_EQ(parse_limit("2147483648\n", total), 2147483648u);
    EXPECT_FALSE(parse_limit("max\n", total).has_value());
    EXPECT_FALSE(parse_limit("9223372036854771712\n", total).has_value());  // v1 "unlimited"
    EXPECT_FALSE(parse_limit(std::to_string(1ull << 60), 0).has_value());
    EXPECT_FALSE(parse_limit(std::to_string(total), total).has_value());     // >= MemTotal
    EXPECT_EQ(parse_limit(std::to_string(total - 1), total), total - 1);
    EXPECT_EQ(parse_limit("4096", 0), 4096u);  // MemTotal unknown
    EXPECT_FALSE(parse_limit("", total).has_value());
    EXPECT_FALSE(parse_limit("junk", total).has_value());
}

TEST(MemParse, ParentCgroup) {
    EXPECT_EQ(parent_cgroup("/a/b/c"), "/a/b");
    EXPECT_EQ(parent_cgroup("/a/b/"), "/a");
    EXPECT_EQ(parent_cgroup("/a"), "/");
    EXPECT_FALSE(parent_cgroup("/").has_value());
    EXPECT_FALSE(parent_cgroup("").has_value());
}
