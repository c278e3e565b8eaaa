// What the memory reader, the freeze actuator and recovery need to know about
// the host: the cgroup mounts and PSI. probe_kernel finds them once
// (KernelFeatures::host); the controller hands that to each of them, so what
// `swamp-bpf probe` reports is what runs.
#pragma once

#include <optional>
#include <string>

#include "sys/fs_root.hpp"

namespace swamp {

struct HostFeatures {
    FsRoot root;                                // where /proc and the mounts below were looked up
    std::optional<std::string> cgroup2;         // the cgroup2 mount, as a path under root
    std::optional<std::string> cgroup1_memory;  // the cgroup v1 memory controller's mount
    bool psi = false;                           // /proc/pressure/memory is readable
};

// Reads the mount table and looks for PSI under `root` ("" in production).
HostFeatures find_host_features(const FsRoot& root);

}  // namespace swamp
