#include "sys/pageout.hpp"
#include "sys/signals.hpp"

#include <limits.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "sys/cgroupfs.hpp"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

namespace swamp {

namespace {

// glibc 2.36 has no process_madvise() wrapper.
long sys_process_madvise(int pidfd, const iovec* iov, size_t n, int advice) {
    return ::syscall(SYS_process_madvise, pidfd, iov, n, advice, 0u);
}

std::string_view next_line(std::string_view& text) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    return line;
}

std::string_view next_field(std::string_view& line) {
    size_t b = line.find_first_not_of(' ');
    if (b == std::string_view::npos) return line = {}, std::string_view{};
    line.remove_prefix(b);
    size_t e = line.find(' ');
    std::string_view f = line.substr(0, e);
    line.remove_prefix(e == std::string_view::npos ? line.size() : e);
    return f;
}

// "VmRSS:    1234 kB" -> bytes
std::optional<uint64_t> kb_field(std::string_view status, std::string_view key) {
    while (!status.empty()) {
        std::string_view line = next_line(status);
        if (line.substr(0, key.size()) != key || line.size() <= key.size() || line[key.size()] != ':') continue;
        std::string value(line.substr(key.size() + 1));
        char* end;
        unsigned long long kb = std::strtoull(value.c_str(), &end, 10);
        if (end == value.c_str()) return std::nullopt;
        return uint64_t(kb) * 1024;
    }
    return std::nullopt;
}

}  // namespace

std::vector<AddressRange> pageout_ranges(std::string_view maps) {
    std::vector<AddressRange> out;
    while (!maps.empty()) {
        std::string_view line = next_line(maps);
        std::string_view span = next_field(line), perms = next_field(line);
        next_field(line);  // offset
        next_field(line);  // dev
        next_field(line);  // inode
        size_t b = line.find_first_not_of(' ');
        std::string_view path = b == std::string_view::npos ? std::string_view{} : line.substr(b);
        if (perms.size() < 4 || perms[1] != 'w' || perms[3] != 'p') continue;
        if (!path.empty() && path.front() == '[' && path != "[heap]" && path != "[stack]") continue;  // vvar, vdso…
        size_t dash = span.find('-');
        if (dash == std::string_view::npos) continue;
        std::string lo(span.substr(0, dash)), hi(span.substr(dash + 1));
        char *e1, *e2;
        uint64_t start = std::strtoull(lo.c_str(), &e1, 16), end = std::strtoull(hi.c_str(), &e2, 16);
        if (*e1 || *e2 || lo.empty() || hi.empty() || end <= start) continue;
        out.push_back({start, end - start});
    }
    return out;
}

bool swaps_have_device(std::string_view proc_swaps) {
    next_line(proc_swaps);  // "Filename Type Size Used Priority"
    while (!proc_swaps.empty())
        if (next_line(proc_swaps).find_first_not_of(" \t") != std::string_view::npos) return true;
    return false;
}

bool zswap_enabled(std::string_view parameter) { return !parameter.empty() && (parameter[0] == 'Y' || parameter[0] == '1'); }

bool swap_or_zswap_present() {
    return swaps_have_device(read_file("/proc/swaps").value_or("")) ||
           zswap_enabled(read_file("/sys/module/zswap/parameters/enabled").value_or(""));
}

std::optional<ProcMemory> parse_status_memory(std::string_view status) {
    auto rss = kb_field(status, "VmRSS");
    if (!rss) return std::nullopt;
    return ProcMemory{*rss, kb_field(status, "VmSwap").value_or(0)};
}

ProcessPager::ProcessPager(pid_t pid, int pidfd) : pid_(pid), pidfd_(pidfd) {
    auto maps = read_file("/proc/" + std::to_string(pid) + "/maps");
    // alive after the read: the maps were this process's, not a reused pid's
    if (!maps || !pidfd_alive(pidfd)) {
        gone_ = true;
        return;
    }
    ranges_ = pageout_ranges(*maps);
}

std::optional<ProcMemory> ProcessPager::memory() const {
    auto status = read_file("/proc/" + std::to_string(pid_) + "/status");
    if (!status || !pidfd_alive(pidfd_)) return std::nullopt;
    return parse_status_memory(*status);
}

bool ProcessPager::step(uint64_t max_bytes) {
    if (gone_ || error_ || done()) return false;
    std::vector<iovec> iov;
    uint64_t total = 0;
    for (size_t i = next_; i < ranges_.size() && iov.size() < IOV_MAX && total < max_bytes; i++) {
        uint64_t skip = i == next_ ? offset_ : 0;
        uint64_t len = std::min(ranges_[i].len - skip, max_bytes - total);
        iov.push_back({reinterpret_cast<void*>(ranges_[i].start + skip), size_t(len)});
        total += len;
    }
    long r = sys_process_madvise(pidfd_, iov.data(), iov.size(), MADV_PAGEOUT);
    // The kernel stops at the first range that fails and returns the bytes of
    // the ranges before it (or -1 if it was the first).
    uint64_t ok = r > 0 ? uint64_t(r) : 0;
    advised_ += ok;
    bool failed = r < 0 || ok < total;
    if (r < 0 && errno == ESRCH) {
        gone_ = true;
        return false;
    }
    if (r < 0 && errno != ENOMEM && errno != EINVAL && errno != EFAULT) {  // EPERM, ENOSYS…: stop
        error_ = errno;
        return false;
    }
    // advance past what was advised, then past the range that failed (unmapped since we read the maps)
    for (uint64_t left = ok; left > 0 && next_ < ranges_.size();) {
        uint64_t rest = ranges_[next_].len - offset_;
        if (left < rest) {
            offset_ += left;
            left = 0;
        } else {
            left -= rest;
            next_++;
            offset_ = 0;
        }
    }
    if (failed && next_ < ranges_.size()) {
        next_++;
        offset_ = 0;
    }
    return !done();
}

bool cgroup_can_reclaim(const std::string& cg) {
    struct stat st;
    return !cg.empty() && ::stat((cg + "/memory.reclaim").c_str(), &st) == 0;
}

int cgroup_reclaim(const std::string& cg, uint64_t bytes) { return write_file(cg + "/memory.reclaim", std::to_string(bytes)); }

std::optional<uint64_t> cgroup_memory_current(const std::string& cg) {
    auto text = read_file(cg + "/memory.current");
    if (!text || text->empty()) return std::nullopt;
    return std::strtoull(text->c_str(), nullptr, 10);
}

}  // namespace swamp
