// The clocks: CLOCK_MONOTONIC is the clock of the kernel events' ts_ns (bpf_ktime_get_ns()).
#pragma once

#include <time.h>

#include <cstdint>

namespace swamp {

// `c` in ns.
uint64_t clock_ns(clockid_t c);
// CLOCK_MONOTONIC in ns and in ms.
uint64_t monotonic_ns();
int64_t monotonic_ms();
// Clock ticks per second, the unit of /proc/PID/stat's times.
long clock_ticks_per_second();

}  // namespace swamp
