#include "sys/clock.hpp"

#include <sys/timerfd.h>
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

TimerFd::TimerFd() : fd_(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) {}

TimerFd::~TimerFd() {
    if (fd_ >= 0) close(fd_);
}

void TimerFd::arm_ms(int ms) {
    itimerspec its{};
    its.it_value.tv_sec = ms / 1000;
    its.it_value.tv_nsec = long(ms % 1000) * 1'000'000 + 1;  // never 0: that would disarm it
    timerfd_settime(fd_, 0, &its, nullptr);
}

void TimerFd::arm_every_ns(uint64_t interval_ns) {
    itimerspec its{};
    its.it_value.tv_nsec = its.it_interval.tv_nsec = long(interval_ns);
    timerfd_settime(fd_, 0, &its, nullptr);
}

void TimerFd::acknowledge() {
    uint64_t expirations;
    (void)!read(fd_, &expirations, sizeof expirations);
}

}  // namespace swamp
