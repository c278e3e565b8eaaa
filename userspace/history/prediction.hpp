// Predicting a job's peak memory from its past runs. Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace swamp {

struct PastRun {
    uint64_t peak = 0;         // bytes
    double duration_s = 0;
    double peak_at_s = 0;      // when in its run (running time) the peak came
    uint64_t input_bytes = 0;  // links: the inputs' total size; 0: not known
    bool complete = true;      // false: killed before it ended, so its peak is a lower bound
    int64_t unix_time = 0;
};

struct Prediction {
    uint64_t peak = 0;      // bytes, margin included
    double duration_s = 0;  // the longest of the runs it is based on
    double peak_at_s = 0;   // the earliest its peak came in those runs
    int runs = 0;           // how many runs it is based on
    // The runs were all killed: `peak` is what they reached, a lower bound
    // (no margin), not a prediction. The job is handled as an unknown one
    // that will reach at least this much.
    bool at_least = false;
};

struct PredictionConfig {
    int last_k = 5;                    // the newest runs that count
    double margin = 0.10;              // added on top of the max, as a fraction of it …
    uint64_t min_margin = 16ull << 20;  // … but at least this much
};

// A conservative peak from the runs (oldest first, newest last): the max of the last k peaks, each
// scaled up (never down) by input_bytes / its run's input_bytes when the inputs grew (links), plus
// max(margin * peak, min_margin). Incomplete runs count with their peak as a lower bound.
// nullopt when there is no run. When the last k runs were all killed, their peak is only a
// lower bound: at_least is set, and no margin is added (taken for a prediction, the peak of a job
// killed young in an OOM-killed build let it start beside stranded memory in the next one).
std::optional<Prediction> predict_peak(const std::vector<PastRun>& runs, uint64_t input_bytes,
                                       const PredictionConfig& c);

}  // namespace swamp
