// Signals as file descriptors for the epoll loop: the given signals are
// blocked while this object lives and read from fd().
#pragma once

#include <signal.h>

#include <cstdint>

namespace swamp {

class SignalFd {
public:
    // SIGINT, SIGTERM, SIGHUP and SIGCHLD, and with `job_control` SIGTSTP,
    // SIGTTIN and SIGTTOU too (the caller then stops itself: stop_self()).
    explicit SignalFd(bool job_control = false);
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

// Stops the calling process (SIGSTOP) until someone sends it SIGCONT.
void stop_self();

// A pidfd for `pid` (readable once it exits), or -1.
int open_pidfd(pid_t pid);
// Sends `sig` to the process of `pidfd` (never to a reused pid): 0, or -1 with errno.
int pidfd_signal(int pidfd, int sig);
// True when `pidfd` still refers to a live process.
bool pidfd_alive(int pidfd);

// Adds `fd` (ignored when < 0) to the epoll set `ep` for `events`, data.fd = fd.
void epoll_watch(int ep, int fd, uint32_t events);
// Takes `fd` out of the epoll set `ep`.
void epoll_unwatch(int ep, int fd);

}  // namespace swamp
