#include "actuator/freeze_actuator.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "sys/cgroupfs.hpp"
#include "sys/limits.hpp"
#include "sys/signals.hpp"
#include "util/error.hpp"

namespace swamp {

namespace {

constexpr int kFreezeTimeoutMs = 1000;

}  // namespace

FreezeActuator::FreezeActuator(pid_t build_root, Vetter vetter, const HostFeatures& host)
    : vetter_(std::move(vetter)), root_(host.root) {
    if (build_root <= 0) build_root = ::getpid();
    const auto& mount = host.cgroup2;
    if (!mount)
        throw UserError(ExitCode::Cgroup,
                        "freeze mode needs cgroup v2, but no cgroup2 filesystem is mounted: mount one "
                        "(mount -t cgroup2 none /sys/fs/cgroup/unified) or use signal mode");
    auto path = v2_path_of(build_root, root_);
    if (!path)
        throw UserError(ExitCode::Cgroup, "freeze mode: /proc/" + std::to_string(build_root) +
                                              "/cgroup has no cgroup v2 (\"0::\") entry; use signal mode");
    mount_ = *mount;
    orig_ = (*path == "/" || path->empty()) ? *mount : *mount + *path;
    dir_ = orig_ + "/swamp-bpf-" + std::to_string(::getpid());

    if (int e = make_cgroup(dir_); e != 0)
        throw UserError(ExitCode::Cgroup, "freeze mode cannot create cgroup " + dir_ + ": " + std::strerror(e) +
                                              "; run as root on a writable cgroup2 mount, or use signal mode");
    if (!path_exists(dir_ + "/cgroup.freeze")) {
        remove_empty_cgroup(dir_);
        throw UserError(ExitCode::Cgroup, "freeze mode needs cgroup.freeze (Linux 5.2 or later), which " + dir_ +
                                              " lacks; use signal mode");
    }
    if (int e = write_file(dir_ + "/cgroup.freeze", "0"); e != 0) {
        remove_empty_cgroup(dir_);
        throw UserError(ExitCode::Cgroup, "freeze mode cannot write " + dir_ + "/cgroup.freeze: " +
                                              std::strerror(e) + "; run as root, or use signal mode");
    }
}

FreezeActuator::~FreezeActuator() {
    try {
        resume_all();
    } catch (...) {
    }
}

std::string FreezeActuator::job_dir(uint64_t job) const { return dir_ + "/job-" + std::to_string(job); }

bool FreezeActuator::ensure_job_dir(uint64_t job, std::string& error) {
    std::string cg = job_dir(job);
    if (jobs_.count(job) && path_exists(cg)) return true;
    if (int e = make_cgroup(dir_); e != 0) {  // gone after resume_all()
        error = "mkdir " + dir_ + ": " + std::strerror(e);
        return false;
    }
    if (int e = make_cgroup(cg); e != 0) {
        error = "mkdir " + cg + ": " + std::strerror(e);
        return false;
    }
    jobs_.insert(job);
    return true;
}

// True if `pid` is in a cgroup under `prefix` (a job's, or all of ours).
bool FreezeActuator::in_job_cgroup(pid_t pid, const std::string& prefix) const {
    auto path = v2_path_of(pid, root_);
    return path && (mount_ + *path + "/").starts_with(prefix + "/");
}

// Writes `pid`, held by `pidfd` and vetted since that was opened, into `cg`. If the
// process died meanwhile, the pid written may be another process's by now: that one
// goes back where it came from (our build root's cgroup), and the answer is ESRCH.
int FreezeActuator::move_vetted(int pidfd, pid_t pid, const std::string& cg) {
    int e = write_file(cg + "/cgroup.procs", std::to_string(pid));
    if (e == 0 && !pidfd_alive(pidfd)) {
        write_file(orig_ + "/cgroup.procs", std::to_string(pid));
        return ESRCH;
    }
    return e;
}

Vetted FreezeActuator::on_join(uint64_t job, pid_t pid, bool job_stopped, uint64_t seen_ns) {
    // the pidfd first: what vet() read of /proc is this process's only while it lives
    int fd = open_pidfd(pid);
    if (fd < 0) return out_of_fds(errno) ? unheld_verdict(errno) : Vetted{Verdict::Gone, "", ""};
    Vetted v = vetter_.vet(pid, seen_ns);
    if (v.verdict == Verdict::Protected && members_.erase(pid))  // again, after an exec: its name changed
        write_file(orig_ + "/cgroup.procs", std::to_string(pid));
    std::string error;
    // a protected process is never moved, so never frozen
    if (v.verdict != Verdict::Ok || !ensure_job_dir(job, error)) {
        ::close(fd);
        return v;
    }
    std::string cg = job_dir(job);
    if (job_stopped && !stopped_.count(job)) {
        // The job should be stopped but its cgroup is not frozen yet: freeze
        // it now, so the process is frozen as it moves in.
        if (write_file(cg + "/cgroup.freeze", "1") == 0) stopped_.insert(job);
    }
    int e = move_vetted(fd, pid, cg);
    ::close(fd);
    if (e == ESRCH) return {Verdict::Gone, "", ""};
    if (out_of_fds(e)) return unheld_verdict(e);  // not moved: it would run on beside its frozen job
    members_[pid] = seen_ns;
    return v;
}

void FreezeActuator::on_exit(pid_t pid) { members_.erase(pid); }  // the kernel drops it from the cgroup

// It inherited a job's cgroup at fork but was never vetted: back to the build root's
// cgroup (thawed if the job is frozen), held by a pidfd while we look.
void FreezeActuator::on_untracked(pid_t pid) {
    members_.erase(pid);
    int fd = open_pidfd(pid);
    if (fd < 0) return;
    if (in_job_cgroup(pid, dir_) && pidfd_alive(fd)) write_file(orig_ + "/cgroup.procs", std::to_string(pid));
    ::close(fd);
}

void FreezeActuator::on_job_end(uint64_t job) {
    std::string cg = job_dir(job);
    if (stopped_.count(job)) write_file(cg + "/cgroup.freeze", "0");
    stopped_.erase(job);
    if (remove_cgroup(cg, orig_, 5, mount_)) jobs_.erase(job);  // else resume_all() tries again
}

bool FreezeActuator::stop(uint64_t job, const std::vector<pid_t>& pids, std::string& error) {
    if (!pids.empty() && std::none_of(pids.begin(), pids.end(), [&](pid_t p) { return members_.count(p) > 0; })) {
        error = "no process of the job may be frozen (protected, or gone)";
        return false;
    }
    if (!ensure_job_dir(job, error)) return false;
    std::string cg = job_dir(job);
    // Normally already there (on_join, or inherited at fork); make sure. One that is
    // not is vetted again: its exit may not have reached us, and its pid be reused.
    for (pid_t pid : pids) {
        auto m = members_.find(pid);
        if (m == members_.end()) continue;  // protected or gone: never moved
        int fd = open_pidfd(pid);
        if (fd < 0) continue;
        int e = 0;
        if (!in_job_cgroup(pid, cg) || !pidfd_alive(fd))
            e = vetter_.vet(pid, m->second).verdict == Verdict::Ok ? move_vetted(fd, pid, cg) : ESRCH;
        ::close(fd);
        if (e != 0 && e != ESRCH) {
            error = "moving pid " + std::to_string(pid) + " to " + cg + ": " + std::strerror(e);
            return false;
        }
    }
    if (int e = write_file(cg + "/cgroup.freeze", "1"); e != 0) {
        error = "writing " + cg + "/cgroup.freeze: " + std::strerror(e);
        return false;
    }
    if (!wait_cgroup_frozen(cg, kFreezeTimeoutMs)) {
        write_file(cg + "/cgroup.freeze", "0");  // never half stopped
        error = "job " + std::to_string(job) + " did not freeze within 1 s (a process in uninterruptible sleep?)";
        return false;
    }
    stopped_.insert(job);
    return true;
}

bool FreezeActuator::resume(uint64_t job, const std::vector<pid_t>&, std::string& error) {
    std::string cg = job_dir(job);
    int e = write_file(cg + "/cgroup.freeze", "0");
    if (e != 0 && e != ENOENT) {
        error = "writing " + cg + "/cgroup.freeze: " + std::strerror(e);
        return false;
    }
    stopped_.erase(job);
    return true;
}

PageOutTarget FreezeActuator::page_out_target(uint64_t job) {
    PageOutTarget t;
    if (!stopped_.count(job)) return t;
    t.cgroup = job_dir(job);
    for (pid_t pid : cgroup_procs(t.cgroup)) {
        if (!members_.count(pid)) continue;  // only vetted processes
        int fd = open_pidfd(pid);
        if (fd < 0) continue;
        // in the job's cgroup while the pidfd's process still lives: it is the member,
        // not a reused pid
        if (in_job_cgroup(pid, t.cgroup) && pidfd_alive(fd))
            t.pidfds.emplace_back(pid, fd);
        else
            ::close(fd);
    }
    return t;
}

void FreezeActuator::resume_all() {
    release_swamp_cgroup(dir_, mount_);  // every job-* under it, also any we lost track of
    stopped_.clear();
    jobs_.clear();
}

}  // namespace swamp
