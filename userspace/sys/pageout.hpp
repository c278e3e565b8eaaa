// Pushing a stopped process's memory out to swap: process_madvise(2) with
// MADV_PAGEOUT over its private writable mappings, or a cgroup v2 job
// cgroup's memory.reclaim. Also the swap/zswap check that `--page-out auto`
// needs. The parsers are pure and exposed for tests.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swamp {

struct AddressRange {
    uint64_t start = 0;
    uint64_t len = 0;
};

// The mappings of /proc/PID/maps worth paging out: private and writable
// (heap, stack, anonymous mmaps, written .data/.bss), never the vDSO and the
// like. Read-only file mappings (code, libraries) are left to the kernel:
// clean, cheap to read back, and often shared with running jobs.
std::vector<AddressRange> pageout_ranges(std::string_view maps);

// /proc/swaps lists at least one swap device or file.
bool swaps_have_device(std::string_view proc_swaps);
// /sys/module/zswap/parameters/enabled says Y (or 1).
bool zswap_enabled(std::string_view parameter);
// Swap or zswap exists now on this host, so page-out has somewhere to go.
bool swap_or_zswap_present();

struct ProcMemory {
    uint64_t rss = 0;   // VmRSS, bytes
    uint64_t swap = 0;  // VmSwap, bytes
};
// VmRSS and VmSwap from the text of /proc/PID/status; nullopt without VmRSS
// (a zombie or a kernel thread).
std::optional<ProcMemory> parse_status_memory(std::string_view status);

// Pages out one process, a chunk at a time, through a pidfd (so a reused pid
// is never touched). Owns nothing: the caller keeps the pidfd open.
class ProcessPager {
public:
    // Reads /proc/PID/maps; the pidfd proves the read was of the same process.
    ProcessPager(pid_t pid, int pidfd);

    // process_madvise(MADV_PAGEOUT) over at most `max_bytes` of address space,
    // in batches of up to IOV_MAX ranges. Returns false when there is no more
    // to do (all advised, the process is gone, or an error: error()).
    bool step(uint64_t max_bytes);
    bool done() const { return next_ >= ranges_.size(); }
    // The process exited, or was never readable.
    bool gone() const { return gone_; }
    // errno of a failure that ended the page-out early (0: none).
    int error() const { return error_; }
    uint64_t advised() const { return advised_; }
    // VmRSS/VmSwap now, if it still lives.
    std::optional<ProcMemory> memory() const;

private:
    pid_t pid_;
    int pidfd_;
    std::vector<AddressRange> ranges_;
    size_t next_ = 0;         // range to start at
    uint64_t offset_ = 0;     // bytes of it already advised
    uint64_t advised_ = 0;
    bool gone_ = false;
    int error_ = 0;
};

// cgroup v2 memory.reclaim (5.19+), for freeze mode's job cgroups.
// The cgroup has a memory.reclaim file (its memory controller is enabled).
bool cgroup_can_reclaim(const std::string& cg);
// Asks the kernel to reclaim `bytes` from the cgroup: 0 when it did, EAGAIN
// when it could not reclaim that much (nothing more to push out), else errno.
int cgroup_reclaim(const std::string& cg, uint64_t bytes);
// memory.current of the cgroup, in bytes.
std::optional<uint64_t> cgroup_memory_current(const std::string& cg);

}  // namespace swamp
