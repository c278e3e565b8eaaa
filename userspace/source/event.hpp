// Kernel events as C++ value types: what the rest of swamp-bpf sees of the BPF side.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace swamp {

struct ExecEvent {
    uint64_t ts_ns = 0;
    uint32_t pid = 0;
    uint32_t ppid = 0;
    std::string comm;
    std::string filename;
    std::vector<std::string> argv;  // the command line (whole, unless argv_truncated)
    bool argv_truncated = false;
    // a watched root the kernel side could not adopt (its task map was full): not followed
    bool untracked = false;
    bool operator==(const ExecEvent&) const = default;
};

struct ForkEvent {
    uint64_t ts_ns = 0;
    uint32_t pid = 0;  // new process (tgid)
    uint32_t tid = 0;  // new thread id; == pid unless thread
    uint32_t ppid = 0;
    std::string comm;
    bool thread = false;
    // the kernel side could not track the new process (its task map was full):
    // nothing more of it will be reported
    bool untracked = false;
    bool operator==(const ForkEvent&) const = default;
};

struct ExitEvent {
    uint64_t ts_ns = 0;
    uint32_t pid = 0;
    uint32_t ppid = 0;
    std::string comm;
    uint32_t wait_status = 0;  // as from waitpid(): (code << 8) | signal
    uint64_t peak_rss = 0;     // bytes
    uint64_t min_flt = 0;
    uint64_t maj_flt = 0;
    // false from the no-BTF variant: wait_status, min_flt and maj_flt are unknown (0)
    bool status_known = true;
    int exit_code() const { return (wait_status >> 8) & 0xff; }
    int signal() const { return wait_status & 0x7f; }
    bool operator==(const ExitEvent&) const = default;
};

struct RssEvent {
    uint64_t ts_ns = 0;
    uint32_t pid = 0;
    uint64_t rss = 0;  // bytes: anon + file + shmem
    uint64_t anon = 0;
    uint64_t file = 0;
    uint64_t shmem = 0;
    uint64_t swap = 0;
    uint64_t peak_rss = 0;
    bool operator==(const RssEvent&) const = default;
};

struct FaultEvent {
    uint64_t ts_ns = 0;
    uint32_t pid = 0;
    uint64_t interval_ns = 0;
    uint64_t min_flt = 0;  // in the interval
    uint64_t maj_flt = 0;
    double min_per_s() const { return interval_ns ? min_flt * 1e9 / interval_ns : 0.0; }
    double maj_per_s() const { return interval_ns ? maj_flt * 1e9 / interval_ns : 0.0; }
    bool operator==(const FaultEvent&) const = default;
};

using Event = std::variant<ExecEvent, ForkEvent, ExitEvent, RssEvent, FaultEvent>;

inline uint64_t event_ts(const Event& e) {
    return std::visit([](const auto& v) { return v.ts_ns; }, e);
}
// A process the kernel side does not follow (its task map was full).
inline bool untracked(const Event& e) {
    if (const auto* f = std::get_if<ForkEvent>(&e)) return f->untracked;
    if (const auto* x = std::get_if<ExecEvent>(&e)) return x->untracked;
    return false;
}
inline uint32_t event_pid(const Event& e) {
    return std::visit([](const auto& v) { return v.pid; }, e);
}
const char* event_name(const Event& e);

// A command line for display: the arguments joined by spaces.
inline std::string join_argv(const std::vector<std::string>& argv) {
    std::string s;
    for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
    return s;
}

}  // namespace swamp
