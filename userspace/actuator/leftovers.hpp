// What a dead swamp-bpf left stopped or frozen, and how a later one undoes it.
//
// The watchdog keeps /run/swamp-bpf/<controller pid>.state up to date: the
// controller and watchdog (pid + start time), our job cgroup directory and
// every process held stopped (pid + start time). It removes the file when it
// exits. If both were killed, the file stays; the next swamp-bpf (any
// command that manages a build, or `swamp-bpf recover`) resumes what it lists
// and also thaws and removes any swamp-bpf-<pid> cgroup whose owner is gone.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sys/host_features.hpp"

namespace swamp {

struct HeldProcess {
    uint64_t job = 0;
    pid_t pid = 0;
    uint64_t start_ticks = 0;  // /proc/PID/stat field 22: tells a reused pid apart
};

struct StateFile {
    pid_t controller = 0;
    uint64_t controller_start = 0;
    pid_t watchdog = 0;
    uint64_t watchdog_start = 0;
    std::string cgroup_dir;  // "" in signal mode
    std::vector<HeldProcess> held;
};

// Pure text format, one record per line.
std::string format_state(const StateFile& s);
std::optional<StateFile> parse_state(std::string_view text);

inline constexpr const char* kStateDir = "/run/swamp-bpf";
// The state directory, kStateDir unless set (the hidden --state-dir, for tests);
// set before the watchdog forks, which inherits it.
const std::string& state_dir();
void set_state_dir(const std::string& dir);
// Makes the state directory (0755, root's) where missing; "" or why it cannot be
// trusted (another user owns it or may write it).
std::string prepare_state_dir();
std::string state_path(pid_t controller);
// Writes atomically (sys/safe_file.hpp, mode 0600); false on error.
bool write_state(const StateFile& s);

struct Recovery {
    int resumed = 0;  // stopped processes resumed
    int thawed = 0;   // frozen job cgroups thawed
    std::vector<pid_t> instances;  // the dead swamp-bpf instances they came from
    std::vector<std::string> unreadable;  // state files that did not parse: left in place
};

// Resumes and thaws everything dead instances left; leaves live ones alone.
// /proc is read under host.root, cgroups under host.cgroup2 (the state directory is state_dir()).
Recovery recover_leftovers(const HostFeatures& host);
// "resumed 2 processes and thawed 1 cgroup left by swamp-bpf 1234 (killed)"; "" when nothing.
std::string describe(const Recovery& r);
// One warning line per state file that did not parse, then describe()'s line if any.
std::vector<std::string> report_lines(const Recovery& r);

}  // namespace swamp
