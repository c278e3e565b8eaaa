// Signals as file descriptors for the epoll loop: SIGINT, SIGTERM, SIGHUP and
// SIGCHLD are blocked while this object lives and read from fd().
#pragma once

#include <signal.h>

namespace swamp {

class SignalFd {
public:
    SignalFd();
    ~SignalFd();
    SignalFd(const SignalFd&) = delete;
    SignalFd& operator=(const SignalFd&) = delete;

    int fd() const { return fd_; }
    // The next pending signal, or 0 if none.
    int read();
    // si_code of the signal read last: SI_KERNEL for the terminal's, SI_USER for kill(2).
    int last_code() const { return last_code_; }

private:
    int fd_ = -1;
    sigset_t old_mask_;
    int last_code_ = 0;
};

// A pidfd for `pid` (readable once it exits), or -1.
int open_pidfd(pid_t pid);
// True when `pidfd` still refers to a live process.
bool pidfd_alive(int pidfd);

}  // namespace swamp
