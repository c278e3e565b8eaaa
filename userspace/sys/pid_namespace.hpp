// Whether swamp-bpf runs in the host's (initial) pid namespace. The BPF side reports
// pids as the initial namespace numbers them (bpf_get_current_pid_tgid, task->tgid);
// kill(), pidfd_open() and /proc/PID take our own namespace's numbers. In any other
// namespace the same number may be another process, so swamp-bpf refuses to run there.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace swamp {

// PROC_PID_INIT_INO (include/linux/proc_ns.h, fixed since Linux 3.8): the inode of the
// initial pid namespace's /proc/PID/ns/pid link. Namespaces made later get inodes from
// 0xF0000000 up (PROC_DYNAMIC_FIRST), so no other namespace has it.
constexpr uint64_t kInitPidNsInode = 0xEFFFFFFC;

struct PidNamespaceFacts {
    uint64_t ns_inode = 0;           // /proc/self/ns/pid: the namespace we run in (0: unreadable)
    // /proc/self/ns/pid_for_children: where our children go. 0: unreadable, as it is after
    // unshare(CLONE_NEWPID) until the new namespace's first process is forked
    uint64_t children_ns_inode = 0;
    int ns_errno = 0;                // why /proc/self/ns/pid could not be read
    pid_t proc_self = 0;             // the pid /proc/self names (0: it does not resolve)
    pid_t pid = 0;                   // getpid()
};

// Reads the facts from `proc` (the procfs mount; "/proc").
PidNamespaceFacts read_pid_namespace(const std::string& proc = "/proc");

// "" when a pid from the kernel side names the same process in kill(), pidfd_open() and
// `proc`/PID as in the kernel; else one sentence of what is wrong and what to do. Pure.
std::string pid_namespace_problem(const PidNamespaceFacts& f);

// Throws UserError(KernelFeature) with pid_namespace_problem() unless it is "". Every
// command that loads BPF or signals processes calls it before anything else.
void require_host_pid_namespace();

}  // namespace swamp
