// Resource limits of the controller and its watchdog: enough open files for
// one pidfd per tracked process, and memory locked against the very pressure
// they relieve.
#pragma once

#include <cerrno>
#include <cstdint>
#include <string>

namespace swamp {

// Open files the controller keeps for itself beside its pidfds: BPF maps,
// programs and links, epoll, timers, /proc and cgroup reads, the control
// socket and its clients, the history database, page-out's pidfd copies.
constexpr uint64_t kOwnFds = 256;
// The open-file limit that `--max-tasks` tracked processes need.
inline uint64_t fds_needed(uint64_t max_tasks) { return max_tasks + kOwnFds; }
inline bool out_of_fds(int err) { return err == EMFILE || err == ENFILE; }

struct FdLimit {
    uint64_t wanted = 0;
    uint64_t before = 0;  // the soft limit we started with
    uint64_t soft = 0;    // now
    uint64_t hard = 0;
};
// Raises the soft RLIMIT_NOFILE to `wanted` (never lowers it); where the hard
// limit is lower, raises that too if we may (CAP_SYS_RESOURCE, up to
// fs.nr_open), else goes up to it.
FdLimit raise_fd_limit(uint64_t wanted);
// The CPUs this process may run on (its affinity mask), at least 1.
int usable_cpus();
// The soft RLIMIT_NOFILE now.
uint64_t fd_limit();
// "" when the limit reached what was wanted; else one warning line with the
// figures and the consequence. Pure.
std::string fd_limit_warning(const FdLimit& l);

// In a forked child before exec (the build command, a hook): the RLIMIT_NOFILE,
// RLIMIT_MEMLOCK and nice value this process started with, before
// raise_fd_limit(), lock_memory() and raise_priority() changed them.
void restore_start_limits();

// mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT): pages already present
// and every page faulted in later stay in RAM; nothing is faulted in ahead.
// Only where no RLIMIT_MEMLOCK can make a later allocation fail (unlimited,
// raised to unlimited, or CAP_IPC_LOCK). "" when locked, else why not.
std::string lock_memory();

// Runs the calling thread, and the threads and children it starts later, at
// `nice` if that is higher than its priority now: the controller must act
// within milliseconds while the build keeps every CPU busy. "" when done or
// not needed, else why not.
std::string raise_priority(int nice);

}  // namespace swamp
