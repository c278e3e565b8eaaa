// How a hog job's resident memory follows its progress. Shared by hog (which
// does it for real) and fakebuild_sim (which simulates it).
#pragma once

#include <algorithm>
#include <optional>
#include <string>

namespace hog {

enum class Shape { Ramp, Early, Late };

inline std::optional<Shape> parse_shape(const std::string& s) {
    if (s == "ramp") return Shape::Ramp;
    if (s == "early") return Shape::Early;
    if (s == "late") return Shape::Late;
    return std::nullopt;
}

// Fraction of the peak that should be resident at progress p in [0, 1].
inline double memory_fraction(Shape shape, double p) {
    p = std::clamp(p, 0.0, 1.0);
    switch (shape) {
        case Shape::Ramp: return p;
        case Shape::Early: return std::min(1.0, p / 0.3);
        case Shape::Late: return p < 0.6 ? 0.1 * p / 0.6 : 0.1 + 0.9 * (p - 0.6) / 0.4;
    }
    return p;
}

}  // namespace hog
