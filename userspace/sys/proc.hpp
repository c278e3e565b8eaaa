// Reading /proc: one process's stat line, and one walk for a root's descendants.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sys/fs_root.hpp"

namespace swamp {

struct ProcStat {
    pid_t pid = 0;
    pid_t ppid = 0;
    pid_t sid = 0;  // session id
    std::string comm;
    char state = '?';
    uint64_t flags = 0;       // PF_* task flags
    uint64_t start_ticks = 0; // start time since boot, in clock ticks
    uint64_t cpu_ticks = 0;   // utime + stime
    bool stopped() const { return state == 'T' || state == 't'; }  // by a signal (T) or a tracer (t)
    bool kernel_thread() const { return flags & 0x00200000; /* PF_KTHREAD */ }
    // in do_exit(): its exit tracepoint may have fired already (set before it, per thread: here the leader's)
    bool exiting() const { return flags & 0x00000004; /* PF_EXITING */ }
};

// /proc/PID/stat under `root` (the real /proc unless a test gives a fake tree).
std::optional<ProcStat> read_proc_stat(pid_t pid, const FsRoot& root = {});
// The CPU time of some processes together, and whether one of them is stopped
// (by a signal or a tracer); the gone ones add nothing.
struct ProcsCpu {
    uint64_t ticks = 0;  // utime + stime, in clock ticks
    bool stopped = false;
};
ProcsCpu read_procs_cpu(const std::set<uint32_t>& pids);
// Whether /proc has a directory for `pid` (a zombie too).
bool proc_exists(pid_t pid);
// The real uid of `pid`, -1 when it is gone.
long real_uid(pid_t pid);
// True when `pid` is stopped by a signal (state T) or by a tracer (t).
bool is_stopped(pid_t pid);
// Parses the text of /proc/PID/stat; exposed for tests.
std::optional<ProcStat> parse_proc_stat(const std::string& text);

// A process's whole command line (the kernel event carries only its first
// bytes) and its working directory; empty when it is gone.
std::vector<std::string> read_cmdline(pid_t pid);
// The values of `names` in `pid`'s environment as it was exec'd (/proc/PID/environ), from at
// most its first `max_bytes`; names not found are absent. Hostile input: check before use.
std::map<std::string, std::string> read_environ(pid_t pid, const std::vector<std::string>& names,
                                                size_t max_bytes = 256 * 1024);
std::string read_cwd(pid_t pid);
// The total size of the files that exist among `paths` (relative ones under
// `dir`), and how many exist.
struct FilesSize {
    uint64_t bytes = 0;
    uint32_t count = 0;
};
FilesSize files_size(const std::vector<std::string>& paths, const std::string& dir);
// The same with relative ones under `pid`'s working directory.
FilesSize files_size_from_cwd(pid_t pid, const std::vector<std::string>& paths);

// The nearest ancestor of `pid` whose name (comm) is one of `names`, other than
// `except`; 0 if none.
pid_t ancestor_named(pid_t pid, const std::vector<std::string>& names, pid_t except);

// Every live descendant of `root` (not root itself), parents before children.
std::vector<ProcStat> scan_descendants(pid_t root);

// Every live process whose real uid is in `uids` or whose name (comm) is in `names`,
// and everything below the named ones; oldest first (parents before children).
std::vector<ProcStat> scan_watched(const std::vector<uid_t>& uids, const std::vector<std::string>& names);

}  // namespace swamp

namespace swamp {

// Throws UserError(BadPid) unless `pid` is a process we may follow: it exists,
// is not pid 1, not ourselves, and not a kernel thread.
ProcStat validate_root_pid(pid_t pid);

// True if capability number `cap` (linux/capability.h) is in our effective set.
bool has_capability(int cap);
// Throws UserError(Permission) unless we may load BPF (root, or CAP_BPF with
// CAP_PERFMON, or CAP_SYS_ADMIN).
void require_bpf_privileges();

}  // namespace swamp
