// The recovery state files (/run/swamp-bpf/PID.state, actuator/leftovers):
// whatever a file holds, parse_state() returns or says no, never throws; a
// file that parses formats back to one that parses the same, and never names
// a cgroup other than a swamp-bpf-* directory.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "actuator/leftovers.hpp"

using namespace swamp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto s = parse_state(text);
    if (!s) return 0;
    if (s->controller <= 0) abort();
    for (const HeldProcess& h : s->held)
        if (h.pid <= 1) abort();
    if (!s->cgroup_dir.empty()) {
        std::string_view dir = s->cgroup_dir;
        if (dir[0] != '/' || dir.substr(dir.rfind('/') + 1).rfind("swamp-bpf-", 0) != 0) abort();
    }
    std::string formatted = format_state(*s);
    auto again = parse_state(formatted);
    if (!again || format_state(*again) != formatted) abort();
    return 0;
}
