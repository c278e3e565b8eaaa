#include "sys/signals.hpp"

#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "util/error.hpp"

namespace swamp {

SignalFd::SignalFd(bool job_control) {
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&mask, s);
    if (job_control)
        for (int s : {SIGTSTP, SIGTTIN, SIGTTOU}) sigaddset(&mask, s);
    sigprocmask(SIG_BLOCK, &mask, &old_mask_);
    fd_ = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd_ < 0) throw UserError(ExitCode::Failure, std::string("signalfd: ") + strerror(errno));
}

SignalFd::~SignalFd() {
    close(fd_);
    sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
}

int SignalFd::read() {
    signalfd_siginfo si;
    if (::read(fd_, &si, sizeof si) != sizeof si) return 0;
    last_code_ = si.ssi_code;
    return int(si.ssi_signo);
}

void stop_self() { kill(getpid(), SIGSTOP); }

int open_pidfd(pid_t pid) { return int(syscall(SYS_pidfd_open, pid, 0)); }

void epoll_watch(int ep, int fd, uint32_t events) {
    if (fd < 0) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

void epoll_unwatch(int ep, int fd) { epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr); }

int pidfd_signal(int pidfd, int sig) { return int(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0)); }

bool pidfd_alive(int pidfd) { return pidfd_signal(pidfd, 0) == 0; }

}  // namespace swamp
