// Small file and cgroup v2 helpers shared by the freeze actuator, the
// watchdog and the recovery of what a killed swamp-bpf left behind.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "sys/fs_root.hpp"

namespace swamp {

// The whole of a small file (/proc, cgroup), or nullopt if unreadable.
std::optional<std::string> read_file(const std::string& path);
// Writes `text` to an existing kernel file (cgroup, /proc/self); never creates one and
// never follows a link (ELOOP). 0 or an errno.
int write_file(const std::string& path, const std::string& text);

// Whether `path` exists.
bool path_exists(const std::string& path);
// The names in directory `dir` but "." and ".."; none if it cannot be read.
std::vector<std::string> dir_entries(const std::string& dir);
// Removes file `path` (unlink); errors are ignored.
void remove_file(const std::string& path);
// Makes cgroup directory `dir` (0755); 0 if it is there now, or an errno.
int make_cgroup(const std::string& dir);
// Removes cgroup `dir` if no process is in it (rmdir); errors are ignored.
void remove_empty_cgroup(const std::string& dir);
// The pids in cgroup `cg` (its cgroup.procs); none if unreadable.
std::vector<pid_t> cgroup_procs(const std::string& cg);
// Waits until cgroup.events of `cg` says "frozen 1", up to `timeout_ms`.
bool wait_cgroup_frozen(const std::string& cg, int timeout_ms);

// The "0::/path" entry of /proc/PID/cgroup under `root`.
std::optional<std::string> v2_path_of(pid_t pid, const FsRoot& root);

// Moves every process of cgroup `cg` to cgroup `to` (to the root of the
// cgroup2 mount `cgroup2` if `to` is gone) and removes `cg`, retrying up to
// `tries` times 10 ms while processes fork or linger. True when `cg` is gone.
bool remove_cgroup(const std::string& cg, const std::string& to, int tries, const std::optional<std::string>& cgroup2);
// Thaws every job-* cgroup under `dir` (a swamp-bpf-<pid> directory), moves
// their processes back to dir's parent, removes them and `dir`. Returns how
// many job cgroups were frozen.
int release_swamp_cgroup(const std::string& dir, const std::optional<std::string>& cgroup2);
// Every swamp-bpf-<pid> directory under the cgroup2 mount `mount`.
std::vector<std::string> find_swamp_cgroups(const std::string& mount);

}  // namespace swamp
