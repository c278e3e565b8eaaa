#include "sys/pid_namespace.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.hpp"

namespace swamp {

namespace {

std::string ns_name(uint64_t inode) { return "pid:[" + std::to_string(inode) + "]"; }

const char* const kWhatToDo =
    "run swamp-bpf on the host (`swamp-bpf --root-pid PID` with the host's pid of the build, or the host's "
    "`swamp-bpf service`, which sees the processes of containers too), or give the container the host's "
    "pid namespace (`docker run --pid=host`; systemd-nspawn and `unshare --pid` cannot)";

}  // namespace

PidNamespaceFacts read_pid_namespace(const std::string& proc) {
    PidNamespaceFacts f;
    f.pid = getpid();
    // stat() follows the magic link to the namespace itself: its inode is the namespace's,
    // whichever procfs instance the link was found in
    struct stat st{};
    if (stat((proc + "/self/ns/pid").c_str(), &st) == 0)
        f.ns_inode = st.st_ino;
    else
        f.ns_errno = errno;
    if (stat((proc + "/self/ns/pid_for_children").c_str(), &st) == 0) f.children_ns_inode = st.st_ino;
    // /proc/self is our pid as the procfs's own namespace numbers us: not getpid() when
    // /proc belongs to another namespace, and unresolvable when we are not in it at all
    char buf[32];
    ssize_t n = readlink((proc + "/self").c_str(), buf, sizeof buf - 1);
    if (n > 0) {
        buf[n] = '\0';
        char* end = nullptr;
        long v = strtol(buf, &end, 10);
        if (*end == '\0' && v > 0) f.proc_self = pid_t(v);
    }
    return f;
}

std::string pid_namespace_problem(const PidNamespaceFacts& f) {
    const std::string host = "swamp-bpf must run in the host's pid namespace: ";
    const std::string wrong = ", so the pids its BPF programs report (the host's) would name other processes here, "
                              "and it would stop, resume or read the wrong ones; ";
    if (f.ns_inode == 0)
        return "cannot read /proc/self/ns/pid (" + std::string(strerror(f.ns_errno)) +
               "): swamp-bpf needs the host's procfs on /proc, to check its pid namespace and to read processes; "
               "mount it (`mount -t proc proc /proc` in the host's pid namespace)";
    if (f.ns_inode != kInitPidNsInode)
        return host + "it runs in " + ns_name(f.ns_inode) + " (a container, or `unshare --pid`)" + wrong + kWhatToDo;
    if (f.children_ns_inode != kInitPidNsInode)
        return host + "the processes it starts would be in " +
               (f.children_ns_inode ? ns_name(f.children_ns_inode) : std::string("a new one")) +
               " (it was started after unshare(CLONE_NEWPID), as by `unshare --pid` without --fork)" + wrong +
               "start it without that";
    if (f.proc_self != f.pid)
        return "/proc is not the procfs of swamp-bpf's pid namespace (/proc/self is " +
               (f.proc_self ? "pid " + std::to_string(f.proc_self) : std::string("no process")) +
               ", swamp-bpf is pid " + std::to_string(f.pid) +
               "), so /proc/PID would read other processes; mount the host's procfs on /proc";
    return "";
}

void require_host_pid_namespace() {
    if (std::string problem = pid_namespace_problem(read_pid_namespace()); !problem.empty())
        throw UserError(ExitCode::KernelFeature, problem);
}

}  // namespace swamp
