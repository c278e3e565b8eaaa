// What `swamp-bpf top` shows (docs/control.md, "top"): one screen drawn from a
// status snapshot, as lines of painted spans. Pure: no terminal, no socket;
// cli/top_cmd.cpp puts the lines on the screen with ncurses and sends the keys'
// requests. Every string from the controller (job names, reasons) is made
// printable and cut to its column here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/status.hpp"

namespace swamp {

enum class Paint { Plain, Title, Dim, Tree, Other, Free, Mark, Running, Stopped, Held, RunNow, Selected, Warn, Key };

struct Span {
    std::string text;
    Paint paint = Paint::Plain;
};
using ScreenLine = std::vector<Span>;

struct TopFrame {
    std::optional<StatusSnapshot> status;  // nullopt: no answer (see `error`)
    std::string error;                     // why there is no status
    std::string socket;
    uint64_t selected = 0;  // the selected job's id (0: none)
    std::string message;    // the answer to the last key
    size_t width = 80, height = 24;
};

// The screen: at most `height` lines of at most `width` columns each (one
// column per character of printable UTF-8 text).
std::vector<ScreenLine> render_top(const TopFrame& f);

// The job `delta` rows from `current` (clamped); the first job when `current`
// is gone or 0; 0 when there is no job.
uint64_t move_selection(const StatusSnapshot& s, uint64_t current, int delta);

// The ctl request line a key sends ("" for none): p pause, r resume, 1 and 2
// limit, 0 no limit, d drain, Enter or g run the selected job now.
std::string request_for_key(int key, uint64_t selected);

// A line's text without paints (for tests and plain captures).
std::string line_text(const ScreenLine& l);

}  // namespace swamp
