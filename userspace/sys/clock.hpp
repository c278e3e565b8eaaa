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

// A CLOCK_MONOTONIC timerfd for an epoll loop: readable once the time set by
// arm_ms() has passed, or every interval set by arm_every_ns().
class TimerFd {
public:
    TimerFd();
    ~TimerFd();
    TimerFd(const TimerFd&) = delete;
    TimerFd& operator=(const TimerFd&) = delete;

    int fd() const { return fd_; }
    void arm_ms(int ms);  // once; rearms if armed
    // Every `interval_ns` (below 1 s) from now on; 0 disarms it.
    void arm_every_ns(uint64_t interval_ns);
    void acknowledge();  // reads the expirations, after epoll reported fd()

private:
    int fd_ = -1;
};

}  // namespace swamp
