#include "sys/atomic_file.hpp"

#include <fcntl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace swamp {

int write_file_atomic(const std::string& path, const std::string& text) {
    std::string tmp = path + ".tmp";
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return errno;
    size_t done = 0;
    while (done < text.size()) {
        ssize_t n = write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int err = n < 0 ? errno : EIO;
            close(fd);
            unlink(tmp.c_str());
            return err;
        }
        done += size_t(n);
    }
    if (close(fd) != 0 || rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        unlink(tmp.c_str());
        return err;
    }
    return 0;
}

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
