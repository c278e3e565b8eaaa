#include "sys/hook_runner.hpp"

#include "sys/clock.hpp"
#include "sys/limits.hpp"
#include "sys/users.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <ctime>

namespace swamp {

namespace {

constexpr const char* kPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

}  // namespace

// Who the hook runs as, looked up before fork (the child only makes system calls).
const HookRunner::Credentials& HookRunner::credentials(uid_t uid) {
    if (auto it = users_.find(uid); it != users_.end()) return it->second;
    Credentials& c = users_[uid];
    c.uid = uid;
    c.home = "/";
    if (auto u = lookup_uid(uid)) {  // NSS, else /etc/passwd and /etc/group (the static build)
        c.gid = u->gid;
        c.name = u->name;
        c.home = u->home.empty() ? "/" : u->home;
        c.groups = u->groups;
    } else {  // not in the user database: its own uid as group, no others
        c.gid = gid_t(uid);
        c.groups = {c.gid};
        c.name = std::to_string(uid);
    }
    return c;
}

HookRunner::HookRunner(std::string command, std::ostream* log) : command_(std::move(command)), log_(log) {}

HookRunner::~HookRunner() {
    for (auto [pid, deadline] : running_) kill(-pid, SIGKILL);
    for (auto [pid, deadline] : running_) waitpid(pid, nullptr, 0);
}

bool HookRunner::run(const std::vector<std::string>& env, uid_t uid) {
    if (running_.size() >= kMaxRunning) {
        if (log_ && refused_++ == 0)
            *log_ << "swamp-bpf: warning: --on-event: " << kMaxRunning
                  << " hooks still run; events are not told until one ends (said once)\n";
        return false;
    }
    const Credentials& who = credentials(uid);
    std::vector<std::string> vars = env;
    vars.push_back(std::string("PATH=") + kPath);
    vars.push_back("HOME=" + who.home);
    vars.push_back("USER=" + who.name);
    vars.push_back("LOGNAME=" + who.name);
    // the user's session bus, where notify-send finds the desktop (systemd-logind's runtime dir)
    std::string runtime = "/run/user/" + std::to_string(uid);
    struct stat st;
    if (uid != 0 && stat(runtime.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid) {
        vars.push_back("XDG_RUNTIME_DIR=" + runtime);
        vars.push_back("DBUS_SESSION_BUS_ADDRESS=unix:path=" + runtime + "/bus");
    }
    std::vector<char*> envp;
    for (std::string& v : vars) envp.push_back(v.data());
    envp.push_back(nullptr);
    const char* argv[] = {"sh", "-c", command_.c_str(), nullptr};

    pid_t pid = fork();
    if (pid < 0) {
        if (log_ && !failure_said_)
            *log_ << "swamp-bpf: warning: --on-event: cannot fork: " << strerror(errno) << " (said once)\n";
        failure_said_ = true;
        return false;
    }
    if (pid == 0) {
        // only system calls from here: we may have forked a process with threads
        setsid();  // its own session and group: kill(-pid) reaches all it starts
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);  // the controller blocks what its signalfd reads
        for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0) dup2(null, 0);
        dup2(2, 1);
        close_range(3, ~0u, 0);  // no BPF, socket, pidfd or cgroup fds
        int adj = open("/proc/self/oom_score_adj", O_WRONLY | O_NOFOLLOW);  // ours is -1000; a hook is ordinary
        if (adj >= 0) (void)!write(adj, "0", 1), close(adj);
        restore_start_limits();  // and our open-file limit and nice
        if (who.uid != 0 &&
            (setgroups(who.groups.size(), who.groups.data()) || setresgid(who.gid, who.gid, who.gid) ||
             setresuid(who.uid, who.uid, who.uid)))
            _exit(126);
        if (chdir(who.home.c_str()) != 0) (void)!chdir("/");
        execve("/bin/sh", const_cast<char* const*>(argv), envp.data());
        _exit(127);
    }
    running_[pid] = monotonic_ns() + uint64_t(kTimeoutMs) * 1'000'000;
    started_++;
    arm();
    return true;
}

bool HookRunner::reaped(pid_t pid, int status) {
    auto it = running_.find(pid);
    if (it == running_.end()) return false;
    running_.erase(it);  // (its group may be gone and its number reused: no kill now)
    if (log_ && WIFEXITED(status) && WEXITSTATUS(status) != 0 && !failure_said_) {
        *log_ << "swamp-bpf: warning: --on-event: the hook exited with status " << WEXITSTATUS(status)
              << (WEXITSTATUS(status) == 126 ? " (cannot take its user's credentials)" : "")
              << " (said once)\n";
        failure_said_ = true;
    }
    arm();
    return true;
}

void HookRunner::finish(int grace_ms) {
    uint64_t end = monotonic_ns() + uint64_t(grace_ms) * 1'000'000;
    while (!running_.empty() && monotonic_ns() < end) {
        for (auto it = running_.begin(); it != running_.end();) {
            int status = 0;
            it = waitpid(it->first, &status, WNOHANG) == it->first ? running_.erase(it) : std::next(it);
        }
        if (!running_.empty()) usleep(20'000);
    }
    for (auto [pid, deadline] : running_) kill(-pid, SIGKILL);
    for (auto [pid, deadline] : running_) waitpid(pid, nullptr, 0);
    running_.clear();
}

void HookRunner::expire() {
    timer_.acknowledge();
    uint64_t now = monotonic_ns();
    for (auto [pid, deadline] : running_)
        if (deadline <= now) {
            kill(-pid, SIGKILL);  // reaped by the loop's SIGCHLD
            if (log_)
                *log_ << "swamp-bpf: warning: --on-event: the hook (pid " << pid << ") ran " << kTimeoutMs / 1000
                      << " s: killed\n";
        }
    arm();
}

void HookRunner::arm() {
    if (running_.empty()) return;
    uint64_t next = UINT64_MAX, now = monotonic_ns();
    for (auto [pid, deadline] : running_) next = std::min(next, deadline);
    timer_.arm_ms(int(next > now ? (next - now) / 1'000'000 + 1 : 1));
}

}  // namespace swamp
