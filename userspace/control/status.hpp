// A running controller's state as `ctl status`, the status file and the
// Prometheus metrics show it (docs/control.md, "Live control"). Pure: the controller
// fills a StatusSnapshot; these functions only format it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "memory/memory.hpp"
#include "policy/policy.hpp"
#include "tree/tree.hpp"

namespace swamp {

struct JobRow {
    uint64_t id = 0;
    uint32_t root_pid = 0;
    std::string name;
    JobState state = JobState::Running;
    uint64_t rss = 0, peak = 0;  // bytes
    double in_state_s = 0;       // time in its current state
    std::string reason;          // stopped or held: why (the decision that did it)
    std::string target;          // what it makes (job_target()), "" if unknown
    std::string package;         // its emerge package, "" if none
    double growth = 0;           // bytes/s, lately
    std::optional<double> cpu;   // CPUs it used lately, when measured (while jobs wait or the CPUs are busy)
    bool run_now = false;        // the user said to run it (ctl run): never stopped until it ends
};

// A row's name as users know the job: its program and what it makes ("g++ main.o"), or the
// program alone. Raw: escape it for display.
std::string job_row_label(const JobRow& j);

struct StatusSnapshot {
    bool up = true;          // false: the final state, written as the controller exits
    pid_t pid = 0;           // the controller's
    uint64_t unix_time = 0;  // when the snapshot was taken
    double uptime_s = 0;
    double start_time = 0;   // unix time of the controller's start
    std::string managing;    // "make (pid 123)", "pid 123", "the builds of user portage"
    std::string actuator;    // how jobs wait
    MemoryView mem;
    std::optional<uint64_t> budget;  // --mem-budget
    uint64_t low_mark = 0, high_mark = 0;
    uint64_t tree_rss = 0;
    Caps caps;
    uint64_t jobs_total = 0, stops = 0, holds = 0, resumes = 0, oom_kills = 0;
    uint64_t untracked = 0;  // processes not tracked so far: the task map was full (--max-tasks)
    double stopped_s = 0, held_s = 0;  // seconds jobs spent stopped, held, since the start
    std::vector<JobRow> jobs;  // the live ones, by id
};

// One row per job of `tree`; `reasons` holds the last stop/hold reason per job id.
// (`cpu` and `run_now` are the controller's to fill.)
std::vector<JobRow> job_rows(const Tree& tree, const std::map<uint64_t, std::string>& reasons, uint64_t now_ns);

// exited, paused, draining, throttling (a job waits), running or idle (no job).
const char* overall_state(const StatusSnapshot& s);
uint64_t jobs_in(const StatusSnapshot& s, JobState state);

// What `ctl status` prints: a few summary lines and a table of jobs.
std::string format_status_text(const StatusSnapshot& s);
// `ctl status --json`: one object.
std::string format_status_json(const StatusSnapshot& s);
// That object read back (for `top`); nullopt and `error` set if it is not one.
// Missing fields keep their defaults, so a newer or older controller still reads.
std::optional<StatusSnapshot> parse_status_json(const std::string& text, std::string& error);
// The status file: `key=value` lines (shell- and NRPE-friendly), then one
// `job.ID=` line per job.
std::string format_status_file(const StatusSnapshot& s);
// systemd's STATUS= line: "2 builds, 3 jobs running, 1 waiting" (`builds`: in service
// mode and with --user), "no build" when there is none, and "; paused" or "; draining".
std::string service_status_line(std::optional<size_t> builds, uint64_t running, uint64_t waiting, const Caps& caps);
// Prometheus textfile-collector format: totals, per-state counts and the
// kMetricsTopJobs largest jobs (never a label per job id).
constexpr size_t kMetricsTopJobs = 5;
std::string format_metrics(const StatusSnapshot& s);

}  // namespace swamp
