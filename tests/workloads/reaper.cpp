// reaper: runs a command as a child subreaper and accounts for every orphan.
//
// When a build's driver dies (kill -9 of make), its jobs are orphaned. Under
// init nobody could tell whether they finished; here they are re-parented to
// reaper (PR_SET_CHILD_SUBREAPER), which waits for them after the command has
// exited, up to --grace seconds (default 60), and reports how each one ended.
// What is still alive after that is reported with its state (T = stopped),
// then SIGKILLed and reaped, so nothing outlives reaper.
//
// One line per process, to --report FILE (else stderr), as soon as it ends:
//   reaper: command PID exited N | killed by signal N
//   reaper: orphan PID COMM exited N | killed by signal N
//   reaper: left PID COMM state S
// Exits with the command's status as a shell reports it: N, or 128 + signal.

#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

constexpr const char* kUsage =
    "usage: reaper [--grace SECONDS] [--report FILE] -- CMD...\n"
    "  Runs CMD as a child subreaper; after CMD exits, waits up to SECONDS (default 60)\n"
    "  for the processes it orphaned. Reports how each ended; kills what is left.\n";

FILE* out = stderr;

double now_s() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

std::string comm_of(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
    std::string s;
    std::getline(in, s);
    return s.empty() ? "?" : s;
}

std::string how(int status) {
    if (WIFEXITED(status)) return "exited " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "status " + std::to_string(status);
}

// Our children (the command and adopted orphans) with their state letters.
std::vector<std::pair<pid_t, char>> children() {
    std::vector<std::pair<pid_t, char>> kids;
    DIR* d = opendir("/proc");
    if (!d) return kids;
    while (dirent* e = readdir(d)) {
        char* end;
        long pid = std::strtol(e->d_name, &end, 10);
        if (*end || pid <= 0) continue;
        std::ifstream in(std::string("/proc/") + e->d_name + "/stat");
        std::string line;
        if (!std::getline(in, line)) continue;
        auto close = line.rfind(')');
        if (close == std::string::npos) continue;
        char state = 0;
        long ppid = 0;
        if (std::sscanf(line.c_str() + close + 1, " %c %ld", &state, &ppid) == 2 && ppid == getpid())
            kids.emplace_back(pid_t(pid), state);
    }
    closedir(d);
    return kids;
}

}  // namespace

int main(int argc, char** argv) {
    double grace = 60;
    int i = 1;
    for (; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--") {
            ++i;
            break;
        }
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (i + 1 >= argc) break;
        if (a == "--grace") {
            grace = std::atof(argv[++i]);
        } else if (a == "--report") {
            out = std::fopen(argv[++i], "w");
            if (!out) {
                std::perror("reaper: --report");
                return 2;
            }
            setvbuf(out, nullptr, _IOLBF, 0);
        } else {
            break;
        }
    }
    if (i >= argc) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        std::perror("reaper: PR_SET_CHILD_SUBREAPER");
        return 2;
    }
    pid_t cmd = fork();
    if (cmd < 0) {
        std::perror("reaper: fork");
        return 2;
    }
    if (cmd == 0) {
        execvp(argv[i], argv + i);
        std::fprintf(stderr, "reaper: cannot run %s: %s\n", argv[i], std::strerror(errno));
        _exit(127);
    }

    int cmd_status = -1;
    double deadline = 0;  // set when the command has exited
    for (;;) {
        siginfo_t info{};
        int r = waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) break;  // ECHILD: every child is accounted for
        if (info.si_pid == 0) {
            if (cmd_status != -1 && now_s() > deadline) {
                for (auto [pid, state] : children()) {
                    std::fprintf(out, "reaper: left %d %s state %c\n", pid, comm_of(pid).c_str(), state);
                    kill(pid, SIGKILL);
                }
                while (wait(nullptr) > 0 || errno == EINTR) {
                }
                break;
            }
            usleep(20 * 1000);
            continue;
        }
        pid_t pid = info.si_pid;
        std::string comm = comm_of(pid);  // a zombie keeps its comm until reaped
        int status = 0;
        if (waitpid(pid, &status, 0) != pid) continue;
        if (pid == cmd) {
            cmd_status = status;
            deadline = now_s() + grace;
            std::fprintf(out, "reaper: command %d %s\n", pid, how(status).c_str());
        } else {
            std::fprintf(out, "reaper: orphan %d %s %s\n", pid, comm.c_str(), how(status).c_str());
        }
    }
    if (WIFEXITED(cmd_status)) return WEXITSTATUS(cmd_status);
    if (WIFSIGNALED(cmd_status)) return 128 + WTERMSIG(cmd_status);
    return 2;
}
