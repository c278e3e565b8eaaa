#include "sys/systemd.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace swamp {

namespace {

// The whole value as an unsigned number, or 0.
uint64_t env_number(const char* name) {
    const char* v = getenv(name);
    if (!v || !*v) return 0;
    char* end;
    unsigned long long n = strtoull(v, &end, 10);
    return *end ? 0 : uint64_t(n);
}

}  // namespace

ServiceManager::ServiceManager() {
    const char* path = getenv("NOTIFY_SOCKET");
    size_t len = path ? strlen(path) : 0;
    sockaddr_un addr{};
    if (len >= 2 && len < sizeof addr.sun_path && (path[0] == '/' || path[0] == '@')) {
        addr.sun_family = AF_UNIX;
        memcpy(addr.sun_path, path, len);
        if (path[0] == '@') addr.sun_path[0] = '\0';  // an abstract socket: no terminating NUL either
        addr_.assign(reinterpret_cast<const char*>(&addr), offsetof(sockaddr_un, sun_path) + len);
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    }
    // sd_watchdog_enabled(3): the interval is ours unless WATCHDOG_PID names another process
    uint64_t pid = env_number("WATCHDOG_PID");
    watchdog_usec_ = fd_ >= 0 && (!getenv("WATCHDOG_PID") || pid == uint64_t(getpid())) ? env_number("WATCHDOG_USEC") : 0;
    if (watchdog_usec_) {
        timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        uint64_t half = watchdog_usec_ / 2;
        itimerspec its{};
        its.it_value.tv_sec = its.it_interval.tv_sec = time_t(half / 1'000'000);
        its.it_value.tv_nsec = its.it_interval.tv_nsec = long(half % 1'000'000 * 1000);
        if (half == 0) its.it_value.tv_nsec = its.it_interval.tv_nsec = 1000;
        if (timer_fd_ >= 0) timerfd_settime(timer_fd_, 0, &its, nullptr);
    }
    for (const char* name : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}) unsetenv(name);
}

ServiceManager::~ServiceManager() {
    if (fd_ >= 0) close(fd_);
    if (timer_fd_ >= 0) close(timer_fd_);
}

bool ServiceManager::notify(const std::string& state) {
    if (fd_ < 0) return false;
    ssize_t sent = sendto(fd_, state.data(), state.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                          reinterpret_cast<const sockaddr*>(addr_.data()), socklen_t(addr_.size()));
    return sent == ssize_t(state.size());
}

void ServiceManager::set_status(const std::string& text) {
    if (fd_ < 0 || (status_sent_ && text == last_status_)) return;
    // a failed send (the manager's queue full) is tried again at the next call
    status_sent_ = notify("STATUS=" + text);
    last_status_ = text;
}

void ServiceManager::watchdog_tick() {
    uint64_t expirations;
    if (timer_fd_ >= 0) (void)!read(timer_fd_, &expirations, sizeof expirations);
    notify("WATCHDOG=1");
}

bool stderr_is_journal() {
    const char* stream = getenv("JOURNAL_STREAM");  // "DEVICE:INODE" of the journal's socket
    if (!stream) return false;
    unsigned long long dev = 0, ino = 0;
    struct stat st;
    return sscanf(stream, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev &&
           st.st_ino == ino;
}

}  // namespace swamp
