// The build drivers swamp-bpf knows, in one list: the tree's default drivers
// (never stopped; their children are jobs), the names the history never
// predicts, and service mode's default roots (a build starts where one is exec'd).
// Names are as the kernel shows them (comm, at most 15 characters; a script's
// own file name, so `scons` and `emerge` are seen as such).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace swamp {

struct KnownDriver {
    const char* name;
    bool starts_builds;  // run on its own to build (a service root); else it runs under one of those
};

inline constexpr KnownDriver kKnownDrivers[] = {
    {"make", true},    {"gmake", true},  {"bmake", true},   {"ninja", true},      {"samu", true},
    {"siso", true},  // Chromium's ninja successor: autoninja runs it
    {"cmake", false},  {"meson", false}, {"cargo", true},   {"scons", true},      {"waf", true},
    {"emerge", true},  {"ebuild.sh", false}, {"sandbox", false},
};

// kKnownDrivers' names: TreeConfig's and --drivers' default.
std::vector<std::string> default_drivers();
// The drivers that start builds, and distccd (whose compiles are jobs of their own): --roots' default.
std::vector<std::string> default_roots();
// One of kKnownDrivers (whatever --drivers says): the history's signatures skip them.
bool is_known_driver(std::string_view comm);

inline const std::vector<std::string> kDefaultDrivers = default_drivers();
inline const std::vector<std::string> kDefaultRoots = default_roots();

}  // namespace swamp
