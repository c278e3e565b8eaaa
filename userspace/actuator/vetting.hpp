// Who may be stopped. Every process is vetted once, when it joins a job and
// before an actuator holds it: it must still be the process the kernel showed
// (a start-time check against pid reuse) and must not be protected.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "sys/proc.hpp"

namespace swamp {

// Default --protect list: what a user must never find stopped.
inline const std::vector<std::string> kDefaultProtect{"sshd", "sshd-session", "tmux", "tmux: server", "screen",
                                                      "SCREEN", "login", "systemd", "dbus-daemon"};

struct ProtectRules {
    std::set<std::string> names;  // comm names never stopped
    std::string login_shell;      // the invoking user's login shell: protected where it leads a session
    std::set<pid_t> pids;         // pid 1, swamp-bpf, its ancestors, its watchdog
};

// Why `p` must never be stopped, or "" when it may be. Pure.
std::string protection_reason(const ProcStat& p, const ProtectRules& r);

// True when a process that started at `start_ticks` (clock ticks since boot)
// started after `seen_boot_ns`, the boot-clock time of the kernel event that
// showed its pid in the build: then the pid was reused. Pure.
bool started_after(uint64_t start_ticks, uint64_t seen_boot_ns, long ticks_per_s);

// True while the process the kernel showed as `pid` at `seen_ns`
// (CLOCK_MONOTONIC) still lives: not a zombie, and not a reused pid.
bool still_runs(pid_t pid, uint64_t seen_ns);

// Unheld: alive, but we are out of file descriptors and could not take the
// pidfd (or read /proc) to hold it: never stopped, and neither is its job.
enum class Verdict { Ok, Gone, Protected, Unheld };

struct Vetted {
    Verdict verdict = Verdict::Gone;
    std::string reason;  // for Protected and Unheld
    std::string comm;    // its name when vetted
};

// The verdict for a process we could not hold: `err` is EMFILE or ENFILE.
Vetted unheld_verdict(int err);

class Vetter {
public:
    // Reads our ancestors and the invoking user's login shell (sudo's, pkexec's or doas' user, or ours).
    explicit Vetter(const std::vector<std::string>& protect_names);
    void protect_pid(pid_t pid) { rules_.pids.insert(pid); }
    const ProtectRules& rules() const { return rules_; }

    // `seen_ns`: CLOCK_MONOTONIC time of the event that showed `pid` in the build.
    Vetted vet(pid_t pid, uint64_t seen_ns) const;

private:
    ProtectRules rules_;
};

}  // namespace swamp
