// ProgressWatch: CPU use and blocked jobs from samples of CPU time, no /proc.
#include <gtest/gtest.h>

#include "control/progress_watch.hpp"

using namespace swamp;

namespace {

constexpr uint64_t kS = 1'000'000'000;
constexpr long kTicksPerS = 100;

TEST(ProgressWatch, CpuUseIsTicksOverTheInterval) {
    ProgressWatch w(kTicksPerS);
    EXPECT_TRUE(w.due(10 * kS));
    w.sample({{1, {500, false}}, {2, {0, false}}}, 10 * kS);
    EXPECT_TRUE(w.cpu_use().empty());  // one sample measures nothing yet
    EXPECT_FALSE(w.due(10 * kS + ProgressWatch::kIntervalNs - 1));
    EXPECT_TRUE(w.due(10 * kS + ProgressWatch::kIntervalNs));
    w.sample({{1, {700, false}}, {2, {50, false}}}, 11 * kS);
    auto use = w.cpu_use();
    EXPECT_DOUBLE_EQ(use[1], 2.0);  // 200 ticks of 10 ms in 1 s
    EXPECT_DOUBLE_EQ(use[2], 0.5);
}

TEST(ProgressWatch, AJobWhoseProcessExitedKeepsItsLastRate) {
    ProgressWatch w(kTicksPerS);
    w.sample({{1, {100, false}}}, 10 * kS);
    w.sample({{1, {200, false}}}, 11 * kS);
    w.sample({{1, {150, false}}}, 12 * kS);  // a process left with its ticks
    EXPECT_DOUBLE_EQ(w.cpu_use()[1], 1.0);
}

TEST(ProgressWatch, BlockedWithoutCpuTimeForTheLimitUnlessPaused) {
    ProgressWatch w(kTicksPerS);
    w.sample({{1, {100, false}}, {2, {100, false}}, {3, {100, true}}}, 10 * kS);
    w.sample({{1, {100, false}}, {2, {101, false}}, {3, {100, true}}}, 14 * kS);
    w.sample({{1, {100, false}}, {2, {101, false}}, {3, {100, true}}}, 15 * kS);
    EXPECT_EQ(w.blocked(15 * kS, 5.0), std::set<uint64_t>{1});  // 2 moved at 14 s; 3 someone else stopped
    EXPECT_TRUE(w.blocked(15 * kS, 6.0).empty());
}

TEST(ProgressWatch, JobsNotSampledAreForgottenAndResetForgetsAll) {
    ProgressWatch w(kTicksPerS);
    w.sample({{1, {100, false}}}, 10 * kS);
    w.sample({{2, {100, false}}}, 20 * kS);
    EXPECT_TRUE(w.blocked(20 * kS, 5.0).empty());  // 1 left; 2 is new
    w.reset();
    EXPECT_TRUE(w.due(20 * kS + 1));  // due at once again
    w.sample({{2, {100, false}}}, 21 * kS);
    EXPECT_TRUE(w.cpu_use().empty());
}

}  // namespace
