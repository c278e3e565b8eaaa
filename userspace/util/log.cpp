#include "util/log.hpp"

#include <iostream>

namespace swamp {

namespace {
bool g_prefixes = false;
}

void set_level_prefixes(bool on) { g_prefixes = on; }

std::string level_prefix(Level level) { return g_prefixes ? "<" + std::to_string(int(level)) + ">" : ""; }

std::ostream& log(Level level) { return std::cerr << level_prefix(level) << "swamp-bpf: "; }

}  // namespace swamp
