// Reads the raw memory signal for one build: /proc/meminfo, /proc/vmstat, PSI
// and the build root's memory cgroup (v1, v2 or hybrid), into a MemorySample.
// Also owns the PSI trigger fd the controller polls.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "memory/memory.hpp"
#include "sys/host_features.hpp"
#include "sys/memparse.hpp"

namespace swamp {

class MemoryReader {
public:
    // Reads /proc under host.root and the cgroups under host's mounts (as probed);
    // the system's PSI file only if host.psi.
    MemoryReader(pid_t build_root, const HostFeatures& host);
    ~MemoryReader();
    MemoryReader(const MemoryReader&) = delete;
    MemoryReader& operator=(const MemoryReader&) = delete;

    // What each decision needs: MemTotal, MemAvailable, the cgroup's usage and
    // limit, and PSI. All fresh but the limit, which is re-read at most once a
    // second. swap_in, swap_out and oom_kills stay 0: see read_all().
    // Never throws; files that cannot be read count as zeros.
    MemorySample read();
    // read() plus the counters no decision uses: swap in/out and OOM kills.
    MemorySample read_all();
    // PSI trigger fd (poll for POLLPRI / EPOLLPRI), -1 if PSI is unavailable.
    int psi_fd() const { return psi_fd_; }
    // Call when psi_fd() polls POLLPRI (or POLLERR). True if the trigger
    // really fired; false if it was spurious or the fd broke (the fd is then
    // closed and psi_fd() becomes -1). No re-arming is needed.
    bool psi_fired();
    // One line: which cgroup (v1/v2 path) and limit is used.
    std::string describe() const;

private:
    enum class Kind { None, V1, V2 };
    // A file read at every decision: opened once, re-read from offset 0.
    struct KeptFile {
        std::string path;
        int fd = -1;
    };
    void locate(pid_t build_root, const HostFeatures& host);
    void open_trigger();
    // The whole of `f` (reopened if its fd broke), in buf_; "" if unreadable.
    std::string_view reread(KeptFile& f);
    std::optional<uint64_t> limit(uint64_t mem_total);

    Kind kind_ = Kind::None;
    std::string cg_dir_;       // filesystem dir of the cgroup whose limit applies ("" if none)
    std::string cg_path_;      // its cgroup path, for describe()
    FsRoot root_;
    std::string system_psi_file_;  // /proc/pressure/memory, "" without PSI
    std::string psi_file_;         // the cgroup's memory.pressure, else system_psi_file_
    std::string psi_trigger_;  // for describe(): what was written to which file
    std::optional<uint64_t> limit_at_start_;
    int psi_fd_ = -1;
    KeptFile meminfo_, psi_, usage_, stat_, limit_;
    std::string buf_;               // what reread() read last
    std::optional<uint64_t> limit_value_;
    uint64_t limit_read_ns_ = 0;    // when limit_ was last read (0: never)
};

}  // namespace swamp
