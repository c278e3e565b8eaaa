#include "history/prediction.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace swamp {

namespace {

constexpr double kMaxBytes = double(std::numeric_limits<uint64_t>::max() / 2);

uint64_t clamp_bytes(double bytes) { return bytes >= kMaxBytes ? uint64_t(kMaxBytes) : uint64_t(std::ceil(bytes)); }

}  // namespace

std::optional<Prediction> predict_peak(const std::vector<PastRun>& runs, uint64_t input_bytes,
                                       const PredictionConfig& c) {
    if (runs.empty()) return std::nullopt;
    size_t k = std::clamp<size_t>(size_t(std::max(c.last_k, 1)), 1, runs.size());
    Prediction p;
    p.at_least = std::none_of(runs.end() - long(k), runs.end(), [](const PastRun& r) { return r.complete; });
    p.peak_at_s = std::numeric_limits<double>::max();
    double peak = 0;
    for (auto it = runs.end() - long(k); it != runs.end(); ++it) {
        p.peak_at_s = std::min(p.peak_at_s, it->peak_at_s);
        double scaled = double(it->peak);
        if (input_bytes > it->input_bytes && it->input_bytes > 0) scaled *= double(input_bytes) / double(it->input_bytes);
        peak = std::max(peak, scaled);
        p.duration_s = std::max(p.duration_s, it->duration_s);
    }
    double margin = p.at_least ? 0.0 : std::max(std::max(c.margin, 0.0) * peak, double(c.min_margin));
    p.peak = clamp_bytes(peak + margin);
    p.runs = int(k);
    return p;
}

}  // namespace swamp
