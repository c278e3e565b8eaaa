// Pure parsers for the files of the memory signal and of cgroups: /proc/meminfo,
// PSI, memory.stat, /proc/PID/cgroup, /proc/self/mounts. No I/O; exposed for tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swamp {

namespace memparse {

struct MemInfo {
    uint64_t total = 0;      // bytes
    uint64_t available = 0;  // bytes
};
// /proc/meminfo ("MemTotal:  123 kB"); missing keys stay 0.
MemInfo parse_meminfo(std::string_view text);

// The value of a "key N" line (memory.stat, memory.events, memory.oom_control,
// /proc/vmstat). The key must match a whole word at the start of a line.
std::optional<uint64_t> key_value(std::string_view text, std::string_view key);

// avg10 of the "some" or "full" line of a PSI file
// ("some avg10=1.23 avg60=... total=...").
std::optional<double> psi_avg10(std::string_view text, std::string_view kind);

// "oom_kill N" of cgroup v1 memory.oom_control (0 if absent: kernel < 4.13).
uint64_t oom_control_kills(std::string_view text);

// One line of /proc/PID/cgroup: "ID:controller,list:/path".
struct CgroupLine {
    int id = -1;
    std::vector<std::string> controllers;  // empty for the v2 line "0::/path"
    std::string path;
};
std::vector<CgroupLine> parse_proc_cgroup(std::string_view text);
// The path of the v1 hierarchy holding `controller`, or of the v2 line ("0::").
std::optional<std::string> v1_cgroup_path(const std::vector<CgroupLine>& lines, std::string_view controller);
std::optional<std::string> v2_cgroup_path(const std::vector<CgroupLine>& lines);

// Mount point from /proc/self/mounts of a filesystem of type `fstype` whose
// options include `option` (empty: any). Octal escapes (\040) are decoded.
std::optional<std::string> find_mount(std::string_view mounts, std::string_view fstype, std::string_view option = {});

// A memory limit file (memory.max / memory.limit_in_bytes). "max", values
// >= 2^60 and values >= mem_total (when non-zero) mean no limit.
std::optional<uint64_t> parse_limit(std::string_view text, uint64_t mem_total);

// "/a/b" -> "/a", "/a" -> "/", "/" -> nullopt.
std::optional<std::string> parent_cgroup(const std::string& path);

}  // namespace memparse

}  // namespace swamp
