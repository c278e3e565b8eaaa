#include <gtest/gtest.h>

#include "memory/memory.hpp"

using namespace swamp;

namespace {

constexpr uint64_t GiB = 1ull << 30;
constexpr uint64_t MiB = 1ull << 20;

MemorySample ram(uint64_t total, uint64_t available) {
    MemorySample s;
    s.mem_total = total;
    s.mem_available = available;
    return s;
}

}  // namespace

TEST(MemoryView, MemAvailableMinusReserve) {
    MemoryConfig c;
    c.reserve = 512 * MiB;
    auto v = memory_view(ram(16 * GiB, 6 * GiB), c, 3 * GiB);
    EXPECT_EQ(v.headroom, int64_t(6 * GiB - 512 * MiB));
    EXPECT_EQ(v.scale, 16 * GiB);
    EXPECT_EQ(v.source, "MemAvailable");
}

TEST(MemoryView, NegativeWhenReserveExceedsAvailable) {
    MemoryConfig c;
    c.reserve = 2 * GiB;
    auto v = memory_view(ram(16 * GiB, 1 * GiB), c, 0);
    EXPECT_EQ(v.headroom, -int64_t(1 * GiB));
}

TEST(MemoryView, BudgetMinusTreeRss) {
    MemoryConfig c;
    c.budget = 4 * GiB;
    c.reserve = 1 * GiB;  // ignored with a budget
    auto s = ram(16 * GiB, 12 * GiB);
    s.cg_limit = 2 * GiB;  // ignored with a budget
    s.cg_usage = 1 * GiB;
    auto v = memory_view(s, c, 3 * GiB);
    EXPECT_EQ(v.headroom, int64_t(1 * GiB));
    EXPECT_EQ(v.scale, 4 * GiB);
    EXPECT_EQ(v.source, "budget");

    v = memory_view(s, c, 5 * GiB);
    EXPECT_EQ(v.headroom, -int64_t(1 * GiB));
}

TEST(MemoryView, CgroupLimitSmallerThanRamWins) {
    MemoryConfig c;
    auto s = ram(16 * GiB, 12 * GiB);
    s.cg_limit = 4 * GiB;
    s.cg_usage = 3 * GiB;
    auto v = memory_view(s, c, 0);
    EXPECT_EQ(v.headroom, int64_t(1 * GiB));
    EXPECT_EQ(v.scale, 4 * GiB);
    EXPECT_EQ(v.source, "cgroup");
}

TEST(MemoryView, MemAvailableWinsWhenTighterThanCgroup) {
    MemoryConfig c;
    auto s = ram(16 * GiB, 1 * GiB);
    s.cg_limit = 8 * GiB;
    s.cg_usage = 2 * GiB;
    auto v = memory_view(s, c, 0);
    EXPECT_EQ(v.headroom, int64_t(1 * GiB));  // min(1 GiB, 6 GiB)
    EXPECT_EQ(v.source, "MemAvailable");
    EXPECT_EQ(v.scale, 8 * GiB);  // watermarks stay relative to the limit
}

TEST(MemoryView, CgroupOverLimitIsNegative) {
    MemoryConfig c;
    auto s = ram(16 * GiB, 12 * GiB);
    s.cg_limit = 2 * GiB;
    s.cg_usage = 2 * GiB + 100 * MiB;
    auto v = memory_view(s, c, 0);
    EXPECT_EQ(v.headroom, -int64_t(100 * MiB));
    EXPECT_EQ(v.source, "cgroup");
}

TEST(MemoryView, CgroupLimitNotBelowRamIsIgnored) {
    MemoryConfig c;
    auto s = ram(16 * GiB, 12 * GiB);
    s.cg_limit = 32 * GiB;
    s.cg_usage = 31 * GiB;
    auto v = memory_view(s, c, 0);
    EXPECT_EQ(v.headroom, int64_t(12 * GiB));
    EXPECT_EQ(v.scale, 16 * GiB);
    EXPECT_EQ(v.source, "MemAvailable");
}

TEST(MemoryView, PsiFullOnlyWhenValid) {
    MemoryConfig c;
    auto s = ram(16 * GiB, 12 * GiB);
    s.psi_full_avg10 = 7.5;
    s.psi_own = true;
    EXPECT_EQ(memory_view(s, c, 0).psi_full_avg10, 0);
    s.psi = true;
    EXPECT_DOUBLE_EQ(memory_view(s, c, 0).psi_full_avg10, 7.5);
}

// Machine-wide PSI (another cgroup thrashing at its own limit) counts only
// while the machine itself is short; the build cgroup's own always counts.
TEST(MemoryView, MachinePressureCountsOnlyWhenTheMachineIsShort) {
    MemoryConfig c;
    auto s = ram(24 * GiB, 20 * GiB);
    s.psi = true;
    s.psi_full_avg10 = 28;
    EXPECT_EQ(memory_view(s, c, 0).psi_full_avg10, 0) << "20 GiB available";
    s.cg_limit = 4 * GiB;
    s.cg_usage = 3 * GiB;
    EXPECT_EQ(memory_view(s, c, 0).psi_full_avg10, 0) << "the build's own limit binds, not the machine";
    s.psi_own = true;
    EXPECT_DOUBLE_EQ(memory_view(s, c, 0).psi_full_avg10, 28) << "its own cgroup's pressure";
    s = ram(24 * GiB, 2 * GiB);
    s.psi = true;
    s.psi_full_avg10 = 28;
    EXPECT_DOUBLE_EQ(memory_view(s, c, 0).psi_full_avg10, 28) << "the machine is short";
}
