#include "sys/limits.hpp"

#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>

#include "sys/proc.hpp"

namespace swamp {

namespace {

constexpr int kCapIpcLock = 14;

// The limits before we changed them (rlim_cur 0: unchanged).
rlimit start_nofile{0, 0}, start_memlock{0, 0};
// The nice value before raise_priority() changed it (only if it did).
std::optional<int> start_nice;

void remember(int resource, rlimit& saved) {
    if (saved.rlim_max == 0) getrlimit(resource, &saved);
}

uint64_t nr_open() {
    uint64_t n = 1 << 20;  // the kernel's default
    std::ifstream("/proc/sys/fs/nr_open") >> n;
    return n;
}

}  // namespace

int usable_cpus() {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? int(n) : 1;
}

uint64_t fd_limit() {
    rlimit r{};
    getrlimit(RLIMIT_NOFILE, &r);
    return r.rlim_cur;
}

FdLimit raise_fd_limit(uint64_t wanted) {
    rlimit r{};
    getrlimit(RLIMIT_NOFILE, &r);
    FdLimit l{wanted, r.rlim_cur, r.rlim_cur, r.rlim_max};
    if (r.rlim_cur >= wanted) return l;
    remember(RLIMIT_NOFILE, start_nofile);
    uint64_t target = std::min<uint64_t>(wanted, nr_open());
    rlimit up{target, std::max<rlim_t>(r.rlim_max, target)};
    if (r.rlim_max < target && setrlimit(RLIMIT_NOFILE, &up) != 0)  // needs CAP_SYS_RESOURCE
        up = {r.rlim_max, r.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &up) == 0) l.soft = up.rlim_cur, l.hard = up.rlim_max;
    return l;
}

std::string fd_limit_warning(const FdLimit& l) {
    if (l.soft >= l.wanted) return "";
    uint64_t held = l.soft > kOwnFds ? l.soft - kOwnFds : 0;
    return "the open-file limit is " + std::to_string(l.soft) + " (hard " + std::to_string(l.hard) +
           ") and cannot be raised to the " + std::to_string(l.wanted) + " that --max-tasks needs: " +
           (held ? "past " + std::to_string(held) + " processes, new ones" : std::string("all processes")) +
           " run unmanaged (never stopped; counted in the summary). Raise the limit (LimitNOFILE=, ulimit -n) or "
           "lower --max-tasks";
}

void restore_start_limits() {
    if (start_nofile.rlim_max) setrlimit(RLIMIT_NOFILE, &start_nofile);  // lowering needs no privilege
    if (start_memlock.rlim_max) setrlimit(RLIMIT_MEMLOCK, &start_memlock);
    if (start_nice) setpriority(PRIO_PROCESS, 0, *start_nice);  // lowering needs no privilege
}

std::string lock_memory() {
    rlimit r{};
    getrlimit(RLIMIT_MEMLOCK, &r);
    if (r.rlim_cur != RLIM_INFINITY) {
        remember(RLIMIT_MEMLOCK, start_memlock);
        rlimit inf{RLIM_INFINITY, RLIM_INFINITY};
        // with MCL_FUTURE, a limit would make later allocations fail instead
        if (setrlimit(RLIMIT_MEMLOCK, &inf) != 0 && !has_capability(kCapIpcLock))
            return "not locked in memory: RLIMIT_MEMLOCK is " + std::to_string(r.rlim_cur / 1024) +
                   " KiB and may not be raised (no CAP_SYS_RESOURCE or CAP_IPC_LOCK); it may be paged out under the "
                   "memory pressure it relieves";
    }
    if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0)
        return std::string("not locked in memory: mlockall: ") + std::strerror(errno);
    return "";
}

std::string raise_priority(int nice) {
    errno = 0;
    int now = getpriority(PRIO_PROCESS, 0);
    if (errno) return std::string("priority not raised: getpriority: ") + std::strerror(errno);
    if (now <= nice) return "";
    if (setpriority(PRIO_PROCESS, 0, nice) != 0)
        return "priority not raised to nice " + std::to_string(nice) + ": setpriority: " + std::strerror(errno) +
               "; decisions may wait for a CPU while the build keeps them busy";
    start_nice = now;
    return "";
}

}  // namespace swamp
