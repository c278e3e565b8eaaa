// The timeline picture of `swamp-bpf report`: a pure function from a
// Timeline to an SVG document.
//
// Layout, top to bottom: title, legend, a panel with the build's total RSS and
// its memory budget, a lane with the jobs running and waiting against the
// CPUs, then one row per job (by start time) with its RSS as a filled area on
// one scale for all rows, the spans it was stopped or held with their reasons,
// and SIGKILLs; a row for the jobs left out; a time axis in seconds; the
// reasons of the waits whose rows had no room for them.
#pragma once

#include <cstdint>
#include <string>

#include "report/timeline.hpp"

namespace swamp {

// What the picture shows.
struct SvgOptions {
    size_t top = 100;       // rows for the jobs with the highest peaks (0: every job)
    uint64_t min_peak = 0;  // no row for a job with a lower peak
    double cpus = 0;        // the CPUs the build had, for the jobs lane (0: unknown)
};

// Where things go; exposed so that tests can map times to x.
struct SvgLayout {
    double width = 1200;
    double plot_left = 320;   // x of time 0; job labels are left of it
    double plot_right = 1170;
    double row_area = 1000;   // rows share this much height, each within the row bounds
    double min_row = 2, max_row = 26;
    double text_row = 9;      // rows at least this high carry the reasons of their waits
    size_t max_listed = 20;   // reasons listed below the rows, at most

    double row_height(size_t rows) const;
    // x of time `t` (seconds) when the picture covers `span` seconds.
    double x(double t, double span) const;
};

// The budget line as drawn: at each sample the highest budget within
// `window` seconds either side. Short dips are not memory taken from the
// build: a job's RSS leaves the total at its exit event, before the kernel has
// freed it and the headroom grows (docs/trace.md).
std::vector<Sample> smoothed_budget(const std::vector<Sample>& budget, double window);

std::string render_svg(const Timeline& t, const SvgOptions& opts = {}, const SvgLayout& layout = {});

// `text` safe inside an SVG text node or attribute value.
std::string xml_escape(const std::string& text);

// A short name for a job's row: its program and the file it makes, and its
// package if any ("gcc foo.o", "g++ main.o (qtwebengine-6.7.2)"): tree's job_label().
std::string job_label(const TimelineJob& j);

// A decision's reason without its details: the part before the first "; "
// ("projected headroom 46M in 2s is below the low mark 64M").
std::string short_reason(const std::string& reason);

}  // namespace swamp
