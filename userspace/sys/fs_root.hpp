// Where the kernel's files are looked up: /proc and the cgroup mounts it lists.
// Production uses the real root (""); tests point it at a fake tree in a temp
// dir, so cgroup discovery, freezing and recovery run there without root.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace swamp {

struct FsRoot {
    std::string prefix;  // "" or a directory, without a trailing '/'

    // `abs_path` ("/proc/self/mounts") under this root.
    std::string at(std::string_view abs_path) const { return prefix + std::string(abs_path); }
    // /proc/PID/FILE under this root.
    std::string proc(pid_t pid, std::string_view file) const {
        return at("/proc/" + std::to_string(pid) + "/" + std::string(file));
    }
};

}  // namespace swamp
