// A recorded trace turned into what `swamp-bpf report` draws: the jobs of the
// build (as the build model, Tree, groups them), each one's RSS over time and
// the spans it waited, the build's total RSS and its memory budget.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "tree/tree.hpp"

namespace swamp {

// Times are seconds since the trace's origin (its "start" line, or its first event).
struct Sample {
    double t = 0;
    uint64_t bytes = 0;
};

struct WaitSpan {
    JobState state = JobState::Stopped;  // Stopped or Held
    double from = 0, to = 0;
    std::string reason;  // the decision's
};

struct TimelineJob {
    uint64_t id = 0;  // the Tree's job id (what the trace's decisions name)
    uint32_t root_pid = 0;
    std::string name;     // what it runs
    std::string command;  // its argv, joined
    std::string package;  // the emerge package it belongs to ("package" lines of the trace), "" if none
    double start = 0, end = 0;
    bool ended = false;  // its last process exited within the trace
    uint64_t peak = 0;
    std::vector<Sample> rss;       // the job's RSS, a step at each change
    std::vector<WaitSpan> waits;   // stopped and held spans, in time order
    std::vector<double> killed;    // times a process of the job died by SIGKILL
};

struct Timeline {
    std::string name;  // the trace's name (its file name)
    double end = 0;    // the last line's time: the wall time the trace covers
    std::vector<TimelineJob> jobs;  // by start time
    std::vector<Sample> total_rss;  // every process of the build, drivers included
    // budget = total RSS + the controller's headroom at each "memory" line:
    // what the build as a whole may use. Empty when the trace has no memory lines.
    std::vector<Sample> budget;
    std::vector<double> killed_outside_jobs;  // SIGKILLs of drivers (make itself)
    uint64_t dropped = 0;                   // events the kernel side lost ("drops" lines)
    size_t decisions = 0;                   // stop/hold/resume lines applied
    size_t decisions_by_pid = 0;            // of them, matched by the job's root pid, not its id
    size_t decisions_unmatched = 0;         // naming no job of the replayed model
};

// How many jobs ran and waited from time `t` on, up to the next count.
struct JobCount {
    double t = 0;
    unsigned running = 0, stopped = 0, held = 0;
};

// The steps of the job counts over the trace: a job runs from its start to its
// end except in its waits. Starts with a count of zero at time 0.
std::vector<JobCount> job_counts(const std::vector<const TimelineJob*>& jobs);
std::vector<JobCount> job_counts(const Timeline& t);

// The rows `report` draws, as indices into t.jobs (start order): the jobs with a
// peak of at least `min_peak`, of them the `top` with the highest peaks (0: all).
std::vector<size_t> rows_to_draw(const Timeline& t, size_t top, uint64_t min_peak);

// Reads a trace in JSON lines (a --record file, or --trace-json/`trace --json`
// output) and replays its events through a fresh Tree. Throws UserError
// "NAME:LINE: …" on a line that is not part of the schema.
Timeline read_timeline(std::istream& in, const std::string& name, const TreeConfig& cfg = {});

}  // namespace swamp
