#include "actuator/vetting.hpp"

#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "sys/clock.hpp"
#include "sys/limits.hpp"
#include "sys/users.hpp"

namespace swamp {

std::string protection_reason(const ProcStat& p, const ProtectRules& r) {
    if (p.pid <= 1) return "init";
    if (p.kernel_thread()) return "a kernel thread";
    if (r.pids.count(p.pid)) return "swamp-bpf, its watchdog or one of its ancestors";
    if (r.names.count(p.comm)) return "on the protect list";
    if (!r.login_shell.empty() && p.comm == r.login_shell && p.sid == p.pid) return "a login shell";
    return "";
}

bool started_after(uint64_t start_ticks, uint64_t seen_boot_ns, long ticks_per_s) {
    // start_ticks is rounded down, so the comparison is exact at tick resolution
    return start_ticks * (1'000'000'000ull / uint64_t(ticks_per_s)) > seen_boot_ns;
}

namespace {

std::string login_shell_comm() {
    std::optional<UserInfo> u = our_invoking_user();
    if (!u) u = lookup_uid(getuid());
    if (!u || u->shell.empty()) return "";
    const std::string& shell = u->shell;
    return shell.substr(shell.rfind('/') + 1).substr(0, 15);  // comm is at most 15 bytes
}

// Whether `st` started after `seen_ns` (CLOCK_MONOTONIC): a reused pid.
bool reused(const ProcStat& st, uint64_t seen_ns) {
    uint64_t seen_boot = seen_ns + (clock_ns(CLOCK_BOOTTIME) - clock_ns(CLOCK_MONOTONIC));
    return started_after(st.start_ticks, seen_boot, clock_ticks_per_second());
}

}  // namespace

bool still_runs(pid_t pid, uint64_t seen_ns) {
    auto st = read_proc_stat(pid);
    return st && st->state != 'Z' && st->state != 'X' && !reused(*st, seen_ns);
}

Vetter::Vetter(const std::vector<std::string>& protect_names) {
    rules_.names.insert(protect_names.begin(), protect_names.end());
    rules_.login_shell = login_shell_comm();
    rules_.pids.insert(getpid());
    for (pid_t p = getppid(); p > 1;) {  // the shell, sudo, sshd or tmux that runs us
        rules_.pids.insert(p);
        auto st = read_proc_stat(p);
        if (!st) break;
        p = st->ppid;
    }
}

Vetted unheld_verdict(int err) { return {Verdict::Unheld, std::string("out of file descriptors (") + std::strerror(err) + ")", ""}; }

Vetted Vetter::vet(pid_t pid, uint64_t seen_ns) const {
    errno = 0;
    auto st = read_proc_stat(pid);
    if (!st && out_of_fds(errno)) return unheld_verdict(errno);
    if (!st) return {Verdict::Gone, "", ""};
    if (reused(*st, seen_ns)) return {Verdict::Gone, "", ""};
    if (std::string why = protection_reason(*st, rules_); !why.empty()) return {Verdict::Protected, why, st->comm};
    return {Verdict::Ok, "", st->comm};
}

}  // namespace swamp
