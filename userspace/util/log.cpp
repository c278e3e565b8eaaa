#include "util/log.hpp"

#include <iostream>

namespace swamp {

namespace {
bool g_prefixes = false;
}

void set_level_prefixes(bool on) { g_prefixes = on; }

std::ostream& log(Level level) {
    if (g_prefixes) std::cerr << '<' << int(level) << '>';
    return std::cerr << "swamp-bpf: ";
}

}  // namespace swamp
