// The mount table (/proc/self/mounts), read once; memparse::find_mount parses it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sys/fs_root.hpp"

namespace swamp {

class Mounts {
public:
    // Reads /proc/self/mounts under `root`; an unreadable table has no mounts.
    explicit Mounts(const FsRoot& root);
    // Where a filesystem of type `fstype` whose options include `option` (empty:
    // any) is mounted, as a path under the root; nullopt if none is.
    std::optional<std::string> find(std::string_view fstype, std::string_view option = {}) const;

private:
    FsRoot root_;
    std::string text_;
};

}  // namespace swamp
