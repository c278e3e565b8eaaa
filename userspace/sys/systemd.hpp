// What systemd asks of a service, without libsystemd: notifications through
// $NOTIFY_SOCKET (sd_notify(3): READY=1, STATUS=…, WATCHDOG=1, STOPPING=1), the
// watchdog's interval from $WATCHDOG_USEC, and whether stderr is the journal
// ($JOURNAL_STREAM). All of it is a no-op elsewhere (OpenRC, a terminal).
#pragma once

#include <cstdint>
#include <string>

namespace swamp {

class ServiceManager {
public:
    // Reads $NOTIFY_SOCKET ("/path" or "@abstract"), $WATCHDOG_USEC and $WATCHDOG_PID,
    // then unsets them, so that what we start (the watchdog process, a launched build)
    // does not take them for its own.
    ServiceManager();
    ~ServiceManager();
    ServiceManager(const ServiceManager&) = delete;
    ServiceManager& operator=(const ServiceManager&) = delete;

    // True under a service manager that listens ($NOTIFY_SOCKET was set and usable).
    bool present() const { return fd_ >= 0; }
    // Sends `state` ("READY=1", "STOPPING=1", …) as one datagram without blocking;
    // false if there is no manager or the send failed.
    bool notify(const std::string& state);
    // "STATUS=text", sent only when it differs from the last one sent.
    void set_status(const std::string& text);

    // WatchdogSec= of the unit in microseconds (0: none, or it is meant for another pid).
    uint64_t watchdog_usec() const { return watchdog_usec_; }
    // A timerfd readable every half of that interval, for the caller's epoll loop; -1 if none.
    int watchdog_fd() const { return timer_fd_; }
    // The loop is alive: acknowledges the timer and sends WATCHDOG=1.
    void watchdog_tick();

private:
    int fd_ = -1, timer_fd_ = -1;
    std::string addr_;  // sockaddr_un bytes for sendto
    uint64_t watchdog_usec_ = 0;
    std::string last_status_;
    bool status_sent_ = false;
};

// True if stderr is the stream systemd connected to the journal.
bool stderr_is_journal();

}  // namespace swamp
