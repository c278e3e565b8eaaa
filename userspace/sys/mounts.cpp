#include "sys/mounts.hpp"

#include "sys/cgroupfs.hpp"
#include "sys/memparse.hpp"

namespace swamp {

Mounts::Mounts(const FsRoot& root) : root_(root), text_(read_file(root.at("/proc/self/mounts")).value_or("")) {}

std::optional<std::string> Mounts::find(std::string_view fstype, std::string_view option) const {
    auto dir = memparse::find_mount(text_, fstype, option);
    if (!dir) return std::nullopt;
    return root_.at(*dir);
}

}  // namespace swamp
