// tracefs: where it is mounted, and the record layout of a classic tracepoint
// (events/<system>/<name>/format), which the no-BTF BPF variant reads fields by.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace swamp {

struct TpField {
    uint32_t offset = 0;
    uint32_t size = 0;
    bool data_loc = false;  // __data_loc: a u32 whose low 16 bits locate a string in the record
};

// Fields by name, from the text of a format file; nullopt if it has no field line.
std::optional<std::map<std::string, TpField>> parse_tp_format(std::string_view text);

struct Tracefs {
    std::string dir;      // "" if none could be found or mounted
    bool mounted = false;  // we mounted it now (it was not mounted)
    std::string error;    // why dir is ""
};
// The tracefs directory: /sys/kernel/tracing or /sys/kernel/debug/tracing; when
// neither is mounted and `mount` is set, mounts tracefs on /sys/kernel/tracing
// (as systemd does at boot), which libbpf also needs to attach tracepoints.
Tracefs find_tracefs(bool mount);

// The text of DIR/events/SYSTEM/NAME/format; nullopt if it cannot be read.
std::optional<std::string> read_tp_format(const std::string& dir, const std::string& system, const std::string& name);

}  // namespace swamp
