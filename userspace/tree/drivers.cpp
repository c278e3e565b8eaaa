#include "tree/drivers.hpp"

namespace swamp {

std::vector<std::string> default_drivers() {
    std::vector<std::string> out;
    for (const KnownDriver& d : kKnownDrivers) out.push_back(d.name);
    return out;
}

std::vector<std::string> default_roots() {
    std::vector<std::string> out;
    for (const KnownDriver& d : kKnownDrivers)
        if (d.starts_builds) out.push_back(d.name);
    out.push_back("distccd");
    return out;
}

bool is_known_driver(std::string_view comm) {
    for (const KnownDriver& d : kKnownDrivers)
        if (comm == d.name) return true;
    return false;
}

}  // namespace swamp
