// Files that readers must never see half-written (the status file, the
// Prometheus textfile): written to PATH.tmp, then renamed over PATH.
#pragma once

#include <string>

namespace swamp {

// Writes `text` to `path` atomically (mode 0644). Returns 0 or an errno;
// nothing is left behind on failure.
int write_file_atomic(const std::string& path, const std::string& text);

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
