// Predicting a job's peak from its past runs (userspace/history/prediction.hpp).
#include <gtest/gtest.h>

#include "history/prediction.hpp"

using namespace swamp;

namespace {

constexpr uint64_t MiB = 1ull << 20;

PastRun run(uint64_t peak_mib, double duration_s = 1, uint64_t input_bytes = 0, bool complete = true,
            double peak_at_s = 0) {
    return {peak_mib * MiB, duration_s, peak_at_s, input_bytes, complete, 0};
}

// No margin: the bare conservative peak.
const PredictionConfig kBare{.last_k = 5, .margin = 0, .min_margin = 0};

}  // namespace

TEST(Prediction, NoRunNoPrediction) { EXPECT_FALSE(predict_peak({}, 0, PredictionConfig{})); }

TEST(Prediction, MaxOfTheLastKRuns) {
    // Oldest first: the 900 MiB run is older than the last 5, so it no longer counts.
    std::vector<PastRun> runs{run(900), run(300), run(500, 4), run(400, 9), run(200), run(450)};
    auto p = predict_peak(runs, 0, kBare);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->peak, 500 * MiB);
    EXPECT_EQ(p->runs, 5);
    EXPECT_EQ(p->duration_s, 9);  // the longest of those runs
    auto all = predict_peak(runs, 0, {.last_k = 6, .margin = 0, .min_margin = 0});
    EXPECT_EQ(all->peak, 900 * MiB);
    EXPECT_EQ(all->runs, 6);
    auto last = predict_peak(runs, 0, {.last_k = 1, .margin = 0, .min_margin = 0});
    EXPECT_EQ(last->peak, 450 * MiB);
    // k larger than the history, or nonsense: every run, or the newest.
    EXPECT_EQ(predict_peak({run(10)}, 0, kBare)->runs, 1);
    EXPECT_EQ(predict_peak(runs, 0, {.last_k = 0, .margin = 0, .min_margin = 0})->peak, 450 * MiB);
}

TEST(Prediction, MarginIsAFractionButAtLeastTheMinimum) {
    PredictionConfig c{.last_k = 5, .margin = 0.10, .min_margin = 16 * MiB};
    EXPECT_EQ(predict_peak({run(1000)}, 0, c)->peak, 1100 * MiB);  // 10% > 16M
    EXPECT_EQ(predict_peak({run(100)}, 0, c)->peak, 116 * MiB);    // 10% = 10M < 16M
    EXPECT_EQ(predict_peak({run(160)}, 0, c)->peak, 176 * MiB);    // equal
    PredictionConfig tight{.last_k = 5, .margin = 0.25, .min_margin = 0};
    EXPECT_EQ(predict_peak({run(400)}, 0, tight)->peak, 500 * MiB);
    // Defaults: 10%, 16M, the last 5.
    PredictionConfig d;
    EXPECT_EQ(d.last_k, 5);
    EXPECT_EQ(predict_peak({run(0)}, 0, d)->peak, 16 * MiB);
}

TEST(Prediction, InputSizeScalesLinksUpNeverDown) {
    std::vector<PastRun> runs{run(1000, 6, 400 * MiB)};
    EXPECT_EQ(predict_peak(runs, 600 * MiB, kBare)->peak, 1500 * MiB);  // inputs grew by half
    EXPECT_EQ(predict_peak(runs, 200 * MiB, kBare)->peak, 1000 * MiB);  // shrank: not scaled down
    EXPECT_EQ(predict_peak(runs, 0, kBare)->peak, 1000 * MiB);          // unknown now
    EXPECT_EQ(predict_peak({run(1000, 6, 0)}, 600 * MiB, kBare)->peak, 1000 * MiB);  // unknown then
    // Each run is scaled by its own inputs: a small old run with small inputs can dominate.
    std::vector<PastRun> mixed{run(300, 1, 100 * MiB), run(800, 1, 800 * MiB)};
    EXPECT_EQ(predict_peak(mixed, 800 * MiB, kBare)->peak, 2400 * MiB);
    // The margin is taken on the scaled peak.
    PredictionConfig c{.last_k = 5, .margin = 0.10, .min_margin = 0};
    EXPECT_EQ(predict_peak(runs, 800 * MiB, c)->peak, 2200 * MiB);
}

TEST(Prediction, IncompleteRunsCountAsLowerBounds) {
    // A killed run reached at least 700M: it raises the prediction, it never lowers it.
    std::vector<PastRun> runs{run(500), run(700, 3, 0, false)};
    EXPECT_EQ(predict_peak(runs, 0, kBare)->peak, 700 * MiB);
    std::vector<PastRun> killed_small{run(500), run(100, 0.5, 0, false)};
    EXPECT_EQ(predict_peak(killed_small, 0, kBare)->peak, 500 * MiB);
    // Only killed runs (of the last k): what they reached, as a lower bound, without a margin.
    EXPECT_FALSE(predict_peak(killed_small, 0, kBare)->at_least);
    auto killed = predict_peak({run(300, 1, 0, false)}, 0, PredictionConfig{});
    ASSERT_TRUE(killed);
    EXPECT_TRUE(killed->at_least);
    EXPECT_EQ(killed->peak, 300 * MiB);
    EXPECT_TRUE(predict_peak({run(500), run(300, 1, 0, false)}, 0, {.last_k = 1, .margin = 0, .min_margin = 0})->at_least);
}

TEST(Prediction, HugeValuesDoNotOverflow) {
    std::vector<PastRun> runs{{UINT64_MAX / 4, 1, 1, 0, true, 0}};
    auto p = predict_peak(runs, UINT64_MAX, PredictionConfig{});
    ASSERT_TRUE(p);
    EXPECT_GE(p->peak, UINT64_MAX / 4);
}

TEST(Prediction, ThePeakIsDueAsEarlyAsItCameInAnyOfTheRuns) {
    auto p = predict_peak({run(500, 10, 0, true, 9.5), run(520, 11, 0, true, 7.0), run(510, 10, 0, true, 9.0)}, 0, kBare);
    ASSERT_TRUE(p);
    EXPECT_DOUBLE_EQ(p->peak_at_s, 7.0);
    EXPECT_DOUBLE_EQ(p->duration_s, 11.0);
}
