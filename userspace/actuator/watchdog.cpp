#include "actuator/watchdog.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "util/error.hpp"

namespace swamp {

namespace {

void write_file(const std::string& path, const std::string& text) {
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    (void)!write(fd, text.data(), text.size());
    close(fd);
}

// Thaw every job cgroup under `dir`, move its processes back to the parent
// (the build's own cgroup) and remove it, then `dir` itself.
void release_cgroups(const std::string& dir) {
    std::string parent = dir.substr(0, dir.rfind('/'));
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* e = readdir(d)) {
            if (strncmp(e->d_name, "job-", 4) != 0) continue;
            std::string cg = dir + "/" + e->d_name;
            write_file(cg + "/cgroup.freeze", "0");
            std::ifstream procs(cg + "/cgroup.procs");
            for (std::string pid; std::getline(procs, pid);) write_file(parent + "/cgroup.procs", pid);
            rmdir(cg.c_str());
        }
        closedir(d);
    }
    rmdir(dir.c_str());
}

}  // namespace

void watchdog_main(int fd) {
    std::map<uint64_t, std::vector<int>> held;  // job -> pidfds of its stopped processes
    std::string cgroup_dir, buffer;
    bool clear = true;
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // EOF: the controller is gone
        buffer.append(chunk, n);
        size_t nl;
        while ((nl = buffer.find('\n')) != std::string::npos) {
            std::istringstream line(buffer.substr(0, nl));
            buffer.erase(0, nl + 1);
            char cmd = 0;
            uint64_t job = 0;
            line >> cmd;
            if (cmd == 'C') {
                line >> cgroup_dir;
            } else if (cmd == 'S') {
                line >> job;
                for (pid_t pid; line >> pid;) {
                    int pfd = int(syscall(SYS_pidfd_open, pid, 0));
                    if (pfd >= 0) held[job].push_back(pfd);
                }
                clear = false;
            } else if (cmd == 'R') {
                line >> job;
                for (int pfd : held[job]) close(pfd);
                held.erase(job);
            } else if (cmd == 'Q') {
                for (auto& [j, fds] : held)
                    for (int pfd : fds) close(pfd);
                held.clear();
                clear = true;
            }
        }
    }
    if (clear && held.empty()) return;
    for (auto& [job, fds] : held)
        for (int pfd : fds) syscall(SYS_pidfd_send_signal, pfd, SIGCONT, nullptr, 0);
    if (!cgroup_dir.empty()) release_cgroups(cgroup_dir);
}

WatchedActuator::WatchedActuator(std::unique_ptr<Actuator> inner) : inner_(std::move(inner)) {
    int p[2];
    if (pipe2(p, O_CLOEXEC)) throw UserError(ExitCode::Failure, std::string("pipe: ") + strerror(errno));
    watchdog_ = fork();
    if (watchdog_ < 0) throw UserError(ExitCode::Failure, std::string("cannot start the watchdog: ") + strerror(errno));
    if (watchdog_ == 0) {
        setsid();  // out of the build's process group: kill -9 -PGID does not reach it
        for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) signal(s, SIG_IGN);
        dup2(p[0], 3);
        close_range(4, ~0u, 0);  // no BPF, cgroup or terminal fds
        watchdog_main(3);
        _exit(0);
    }
    close(p[0]);
    pipe_ = p[1];
    std::string dir = inner_->cgroup_dir();
    if (!dir.empty()) tell("C " + dir);
}

WatchedActuator::~WatchedActuator() {
    resume_all();
    inner_.reset();
    close(pipe_);
    waitpid(watchdog_, nullptr, 0);
}

void WatchedActuator::tell(const std::string& line) {
    std::string text = line + "\n";
    (void)!write(pipe_, text.data(), text.size());  // short lines: atomic on a pipe
}

bool WatchedActuator::on_join(uint64_t job, pid_t pid, bool job_stopped) {
    bool ok = inner_->on_join(job, pid, job_stopped);
    if (ok && job_stopped) tell("S " + std::to_string(job) + " " + std::to_string(pid));
    return ok;
}

void WatchedActuator::on_job_end(uint64_t job) {
    inner_->on_job_end(job);
    tell("R " + std::to_string(job));
}

bool WatchedActuator::stop(uint64_t job, const std::vector<pid_t>& pids, std::string& error) {
    // tell first: should we die between the two, the watchdog resumes a running job, harmlessly
    std::string line = "S " + std::to_string(job);
    for (pid_t p : pids) line += " " + std::to_string(p);
    tell(line);
    return inner_->stop(job, pids, error);
}

bool WatchedActuator::resume(uint64_t job, const std::vector<pid_t>& pids, std::string& error) {
    bool ok = inner_->resume(job, pids, error);
    if (ok) tell("R " + std::to_string(job));
    return ok;
}

void WatchedActuator::resume_all() {
    inner_->resume_all();
    tell("Q");
}

}  // namespace swamp
