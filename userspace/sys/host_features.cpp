#include "sys/host_features.hpp"

#include <unistd.h>

#include "sys/mounts.hpp"

namespace swamp {

HostFeatures find_host_features(const FsRoot& root) {
    Mounts mounts(root);
    HostFeatures h;
    h.root = root;
    h.cgroup2 = mounts.find("cgroup2");
    h.cgroup1_memory = mounts.find("cgroup", "memory");
    h.psi = access(root.at("/proc/pressure/memory").c_str(), R_OK) == 0;
    return h;
}

}  // namespace swamp
