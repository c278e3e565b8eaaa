#include "sys/atomic_file.hpp"

#include <sys/timerfd.h>
#include <unistd.h>


namespace swamp {

OneShotTimer::OneShotTimer() : fd_(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) {}

OneShotTimer::~OneShotTimer() {
    if (fd_ >= 0) close(fd_);
}

void OneShotTimer::arm_ms(int ms) {
    itimerspec its{};
    its.it_value.tv_sec = ms / 1000;
    its.it_value.tv_nsec = long(ms % 1000) * 1'000'000 + 1;  // never 0: that would disarm it
    timerfd_settime(fd_, 0, &its, nullptr);
}

void OneShotTimer::acknowledge() {
    uint64_t expirations;
    (void)!read(fd_, &expirations, sizeof expirations);
}

}  // namespace swamp
