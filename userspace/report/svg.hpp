// The timeline picture of `swamp-bpf report`: a pure function from a
// Timeline to an SVG document.
//
// Layout, top to bottom: title, legend, a panel with the build's total RSS and
// its memory budget, then one row per job (by start time) with its RSS as a
// filled area scaled to the job's own peak, the spans it was stopped or held,
// and SIGKILLs; a time axis in seconds.
#pragma once

#include <string>

#include "report/timeline.hpp"

namespace swamp {

// Where things go; exposed so that tests can map times to x.
struct SvgLayout {
    double width = 1200;
    double plot_left = 320;   // x of time 0; job labels are left of it
    double plot_right = 1170;
    double row_area = 1000;   // rows share this much height, each within the row bounds
    double min_row = 2, max_row = 26;

    double row_height(size_t jobs) const;
    // x of time `t` (seconds) when the picture covers `span` seconds.
    double x(double t, double span) const;
};

std::string render_svg(const Timeline& t, const SvgLayout& layout = {});

// `text` safe inside an SVG text node or attribute value.
std::string xml_escape(const std::string& text);

// A short name for a job's row: its program and the file it makes, and its
// package if any ("gcc foo.o", "g++ main.o (qtwebengine-6.7.2)"): tree's job_label().
std::string job_label(const TimelineJob& j);

}  // namespace swamp
