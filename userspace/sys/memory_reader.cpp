#include "sys/memory_reader.hpp"

#include "sys/cgroupfs.hpp"
#include "sys/clock.hpp"
#include "util/size.hpp"

#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace swamp {

namespace {

const auto slurp = read_file;

std::string slurp_or_empty(const std::string& path) { return slurp(path).value_or(std::string()); }

// The number a file holds (memory.current, memory.usage_in_bytes); 0 if none.
uint64_t leading_u64(std::string_view t) {
    uint64_t v = 0;
    std::from_chars(t.data(), t.data() + t.size(), v);
    return v;
}

// How old the cgroup's limit may be: it is set by hand or by a service manager, rarely.
constexpr uint64_t kLimitMaxAgeNs = 1'000'000'000;

std::string join(const std::string& mount, const std::string& cg_path) {
    if (cg_path.empty() || cg_path == "/") return mount;
    return mount + (cg_path.front() == '/' ? "" : "/") + cg_path;
}

}  // namespace

MemoryReader::MemoryReader(pid_t build_root, const HostFeatures& host)
    : root_(host.root),
      system_psi_file_(host.psi ? root_.at("/proc/pressure/memory") : std::string()),
      psi_file_(system_psi_file_) {
    meminfo_.path = root_.at("/proc/meminfo");
    try {
        locate(build_root, host);
    } catch (...) {
        kind_ = Kind::None;
        cg_dir_.clear();
    }
    open_trigger();
    psi_.path = psi_file_;
    if (kind_ == Kind::V1) {
        usage_.path = cg_dir_ + "/memory.usage_in_bytes";
        stat_.path = cg_dir_ + "/memory.stat";
        limit_.path = cg_dir_ + "/memory.limit_in_bytes";
    } else if (kind_ == Kind::V2) {
        usage_.path = cg_dir_ + "/memory.current";
        stat_.path = cg_dir_ + "/memory.stat";
        limit_.path = cg_dir_ + "/memory.max";
    }
}

MemoryReader::~MemoryReader() {
    if (psi_fd_ >= 0) ::close(psi_fd_);
    for (KeptFile* f : {&meminfo_, &psi_, &usage_, &stat_, &limit_})
        if (f->fd >= 0) ::close(f->fd);
}

void MemoryReader::locate(pid_t build_root, const HostFeatures& host) {
    uint64_t mem_total = memparse::parse_meminfo(slurp_or_empty(meminfo_.path)).total;
    auto lines = memparse::parse_proc_cgroup(slurp_or_empty(root_.proc(build_root, "cgroup")));

    // Walks from `path` up to the hierarchy's root; picks the nearest cgroup
    // with a limit, else the build root's own cgroup (no limit).
    auto pick = [&](Kind kind, const std::string& mount, const std::string& path, const char* limit_file,
                    const char* probe_file) {
        std::optional<std::string> p = path;
        while (p) {
            std::string dir = join(mount, *p);
            auto lim = memparse::parse_limit(slurp_or_empty(dir + "/" + limit_file), mem_total);
            if (lim) {
                kind_ = kind;
                cg_dir_ = dir;
                cg_path_ = *p;
                limit_at_start_ = lim;
                return true;
            }
            p = memparse::parent_cgroup(*p);
        }
        std::string own = join(mount, path);
        if (!path_exists(own + "/" + probe_file)) return false;
        kind_ = kind;
        cg_dir_ = own;
        cg_path_ = path;
        return true;
    };

    auto v1_path = memparse::v1_cgroup_path(lines, "memory");
    const auto& v1_mount = host.cgroup1_memory;
    if (v1_path && v1_mount && pick(Kind::V1, *v1_mount, *v1_path, "memory.limit_in_bytes", "memory.usage_in_bytes"))
        return;

    auto v2_path = memparse::v2_cgroup_path(lines);
    const auto& v2_mount = host.cgroup2;
    if (v2_path && v2_mount && pick(Kind::V2, *v2_mount, *v2_path, "memory.max", "memory.current")) {
        if (limit_at_start_ && path_exists(cg_dir_ + "/memory.pressure")) psi_file_ = cg_dir_ + "/memory.pressure";
        return;
    }
    kind_ = Kind::None;
}

void MemoryReader::open_trigger() {
    // 150 ms of stall in 1 s. Without CAP_SYS_RESOURCE the kernel only takes
    // windows that are multiples of 2 s (EINVAL): then 300 ms in 2 s, the same ratio.
    static const char* const triggers[] = {"some 150000 1000000", "some 300000 2000000"};
    for (const std::string& file : {psi_file_, system_psi_file_}) {
        if (file.empty()) continue;  // no PSI
        for (const char* trigger : triggers) {
            int fd = ::open(file.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
            if (fd < 0) break;
            if (::write(fd, trigger, std::strlen(trigger) + 1) < 0) {  // with the NUL, as psi.rst does
                ::close(fd);
                continue;
            }
            psi_fd_ = fd;
            psi_trigger_ = std::string(trigger) + "\" on " + file;
            return;
        }
    }
}

std::string_view MemoryReader::reread(KeptFile& f) {
    if (f.path.empty()) return {};
    if (buf_.empty()) buf_.resize(8192);
    // a broken fd (ENODEV once its cgroup is removed) gets one reopen
    for (int attempt = 0; attempt < 2; attempt++) {
        if (f.fd < 0) f.fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (f.fd < 0) return {};
        size_t len = 0;
        ssize_t n;
        for (;;) {
            if (len == buf_.size()) buf_.resize(2 * buf_.size());
            n = ::pread(f.fd, buf_.data() + len, buf_.size() - len, off_t(len));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            len += size_t(n);
        }
        if (n == 0) return std::string_view(buf_.data(), len);
        ::close(f.fd);
        f.fd = -1;
    }
    return {};
}

std::optional<uint64_t> MemoryReader::limit(uint64_t mem_total) {
    uint64_t now = monotonic_ns();
    if (limit_read_ns_ == 0 || now - limit_read_ns_ >= kLimitMaxAgeNs) {
        limit_value_ = memparse::parse_limit(reread(limit_), mem_total);
        limit_read_ns_ = now;
    }
    return limit_value_;
}

MemorySample MemoryReader::read() {
    MemorySample s;
    try {
        auto mi = memparse::parse_meminfo(reread(meminfo_));
        s.mem_total = mi.total;
        s.mem_available = mi.available;

        if (kind_ != Kind::None) {
            s.cg_limit = limit(s.mem_total);
            uint64_t usage = leading_u64(reread(usage_));
            uint64_t inactive =
                memparse::key_value(reread(stat_), kind_ == Kind::V1 ? "total_inactive_file" : "inactive_file")
                    .value_or(0);
            s.cg_usage = usage > inactive ? usage - inactive : 0;
        }

        std::string_view psi = reread(psi_);
        auto some = memparse::psi_avg10(psi, "some");
        auto full = memparse::psi_avg10(psi, "full");
        s.psi = some.has_value();
        s.psi_own = s.psi && psi_file_ != system_psi_file_;
        s.psi_some_avg10 = some.value_or(0);
        s.psi_full_avg10 = full.value_or(0);
    } catch (...) {
        // Out of memory while reading: return what we have.
    }
    return s;
}

MemorySample MemoryReader::read_all() {
    MemorySample s = read();
    try {
        std::string vmstat = slurp_or_empty(root_.at("/proc/vmstat"));
        s.swap_in = memparse::key_value(vmstat, "pswpin").value_or(0);
        s.swap_out = memparse::key_value(vmstat, "pswpout").value_or(0);
        if (kind_ == Kind::V1) {
            s.oom_kills = memparse::oom_control_kills(slurp_or_empty(cg_dir_ + "/memory.oom_control"));
        } else if (kind_ == Kind::V2) {
            s.oom_kills = memparse::key_value(slurp_or_empty(cg_dir_ + "/memory.events"), "oom_kill").value_or(0);
            std::string_view stat = reread(stat_);
            if (auto in = memparse::key_value(stat, "pswpin")) s.swap_in = *in;
            if (auto out = memparse::key_value(stat, "pswpout")) s.swap_out = *out;
        }
    } catch (...) {
    }
    return s;
}

bool MemoryReader::psi_fired() {
    if (psi_fd_ < 0) return false;
    // epoll already consumed the event; this only detects a broken trigger
    // (its cgroup was removed), which polls POLLERR for ever.
    pollfd p{psi_fd_, POLLPRI, 0};
    int n = ::poll(&p, 1, 0);
    if (n > 0 && (p.revents & (POLLERR | POLLNVAL))) {
        ::close(psi_fd_);
        psi_fd_ = -1;
        return false;
    }
    return true;
}

std::string MemoryReader::describe() const {
    std::string out;
    switch (kind_) {
        case Kind::None: out = "memory cgroup: none found"; break;
        case Kind::V1: out = "memory cgroup v1 " + cg_path_ + " (" + cg_dir_ + ")"; break;
        case Kind::V2: out = "memory cgroup v2 " + cg_path_ + " (" + cg_dir_ + ")"; break;
    }
    if (kind_ != Kind::None) out += limit_at_start_ ? ", limit " + human_bytes(*limit_at_start_) : ", no limit";
    out += psi_fd_ >= 0 ? "; PSI trigger \"" + psi_trigger_ : "; no PSI trigger";
    return out;
}

}  // namespace swamp
