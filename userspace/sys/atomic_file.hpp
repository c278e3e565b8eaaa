// The timer that spaces the status and metrics files' writes (their safe,
// atomic write is write_file_atomic in sys/safe_file.hpp).
#pragma once

#include <string>

namespace swamp {

// A one-shot CLOCK_MONOTONIC timerfd for an epoll loop: readable once the
// time set by arm_ms() has passed.
class OneShotTimer {
public:
    OneShotTimer();
    ~OneShotTimer();
    OneShotTimer(const OneShotTimer&) = delete;
    OneShotTimer& operator=(const OneShotTimer&) = delete;

    int fd() const { return fd_; }
    void arm_ms(int ms);  // rearms if armed
    void acknowledge();   // reads the expiration, after epoll reported fd()

private:
    int fd_ = -1;
};

}  // namespace swamp
