// Helpers for integration tests: run a command, capture its output.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace swamp::test {

struct Child {
    pid_t pid = -1;
    int out_fd = -1;  // the child's stdout
};

// Starts argv with stdout on a pipe (stderr inherited).
Child spawn(const std::vector<std::string>& argv);
// Reads the child's stdout to EOF and waits; returns the wait status.
int finish(Child& c, std::string& out);
// spawn + finish.
int run(const std::vector<std::string>& argv, std::string& out);

std::vector<nlohmann::json> json_lines(const std::string& text);
bool is_root();

// Processes in T state whose name says they belong to a build (hog, make, swamp-bpf).
std::vector<std::string> stopped_build_processes();
// swamp-bpf-<pid> cgroup directories anywhere under the cgroup mounts.
std::vector<std::string> leftover_cgroups();
// Job cgroups under those that are frozen.
std::vector<std::string> frozen_cgroups();
// The pid of the swamp-bpf process whose command line mentions `marker`, or -1.
pid_t find_swamp(const std::string& marker);

}  // namespace swamp::test
