// Log lines on stderr. Under systemd, where stderr is the journal, each line
// starts with its syslog level ("<4>"), which journald takes as the entry's
// priority; elsewhere (a terminal, OpenRC's log file) lines stay plain.
#pragma once

#include <ostream>
#include <string>

namespace swamp {

enum class Level { Error = 3, Warning = 4, Notice = 5, Info = 6 };

// Turns the "<N>" prefixes on or off (off by default).
void set_level_prefixes(bool on);
// "<N>" for `level` while the prefixes are on, else "".
std::string level_prefix(Level level);
// Starts a line on std::cerr: the level's prefix, if on, then "swamp-bpf: ".
std::ostream& log(Level level);

}  // namespace swamp
