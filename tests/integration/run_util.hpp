// Helpers for integration tests: run a command, capture its output.
#pragma once

#include <sys/types.h>

#include <functional>
#include <filesystem>
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
// The same as uid `uid` (its gid too, no supplementary groups), with stderr on the pipe as well.
Child spawn_as(const std::vector<std::string>& argv, uid_t uid);
// Reads the child's stdout to EOF and waits; returns the wait status.
int finish(Child& c, std::string& out);
// `swamp-bpf ctl --socket SOCK ARGS…` as root: its exit code (-1 if it did not exit), its output in `out`.
int run_ctl(const std::string& sock, const std::vector<std::string>& args, std::string& out);
// spawn + finish.
int run(const std::vector<std::string>& argv, std::string& out);

std::vector<nlohmann::json> json_lines(const std::string& text);
// The whole text of a file; "" if it cannot be read (a vanished process's /proc file).
std::string file_text(const std::string& path);
bool is_root();
// A new, empty directory for one test: TMPDIR/swamp-NAME-PID (anything there before is removed).
std::filesystem::path fresh_dir(const std::string& name);
// Why tests that need root and a memory cgroup controller cannot run here ("" if they can).
std::string missing_root_or_memcg();
// A cgroup2 mount (unified or hybrid), which freeze mode needs.
bool have_cgroup2();

// A process as /proc/PID/stat shows it.
struct ProcInfo {
    pid_t pid = 0;
    pid_t ppid = 0;
    pid_t pgrp = 0;
    char state = 0;  // R, S, D, T (stopped), t (traced), Z, ...
    std::string comm;
};
// Every process now.
std::vector<ProcInfo> processes();
// True if `entry` (e.g. "NAME=value") is one of the process's environment
// strings. Build processes inherit a marker this way, which tells them apart
// from everything else on the machine, including other tests' builds.
bool has_env(pid_t pid, const std::string& entry);

// Processes in T state (stopped), as "PID (COMM)": by default those whose name
// says they belong to a build (hog, make, swamp-bpf); with `env`, every
// process whose environment holds that entry.
std::vector<std::string> stopped_build_processes(const std::string& env = "");
// swamp-bpf-PID cgroups (freeze mode's job cgroups live in them), of any
// controller or of the one with pid `swamp`.
std::vector<std::string> leftover_cgroups(pid_t swamp = 0);
// Job cgroups under those that are frozen.
std::vector<std::string> frozen_cgroups(pid_t swamp = 0);

// Polls `ok` every 50 ms for up to `seconds`; its last answer.
bool wait_until(const std::function<bool()>& ok, double seconds);

// The pid of the swamp-bpf process whose command line mentions `marker`, or -1.
pid_t find_swamp(const std::string& marker);

}  // namespace swamp::test
