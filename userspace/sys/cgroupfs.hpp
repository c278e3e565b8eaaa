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
// Writes `text` to an existing file; 0 or an errno.
int write_file(const std::string& path, const std::string& text);

// The cgroup2 mount point under `root`, if one is mounted.
std::optional<std::string> cgroup2_mount(const FsRoot& root);
// The "0::/path" entry of /proc/PID/cgroup under `root`.
std::optional<std::string> v2_path_of(pid_t pid, const FsRoot& root);

// Moves every process of cgroup `cg` to cgroup `to` (to the cgroup2 root if
// `to` is gone) and removes `cg`, retrying up to `tries` times 10 ms while
// processes fork or linger. True when `cg` is gone. `root` finds the cgroup2 root.
bool remove_cgroup(const std::string& cg, const std::string& to, int tries, const FsRoot& root);
// Thaws every job-* cgroup under `dir` (a swamp-bpf-<pid> directory), moves
// their processes back to dir's parent, removes them and `dir`. Returns how
// many job cgroups were frozen.
int release_swamp_cgroup(const std::string& dir, const FsRoot& root);
// Every swamp-bpf-<pid> directory under the cgroup2 mount `mount`.
std::vector<std::string> find_swamp_cgroups(const std::string& mount);

}  // namespace swamp
