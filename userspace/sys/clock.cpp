#include "sys/clock.hpp"

#include <unistd.h>

namespace swamp {

uint64_t clock_ns(clockid_t c) {
    timespec ts{};
    clock_gettime(c, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
}

uint64_t monotonic_ns() { return clock_ns(CLOCK_MONOTONIC); }

int64_t monotonic_ms() { return int64_t(monotonic_ns() / 1'000'000); }

long clock_ticks_per_second() { return sysconf(_SC_CLK_TCK); }

}  // namespace swamp
