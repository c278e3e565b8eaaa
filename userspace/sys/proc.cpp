#include "sys/proc.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "sys/cgroupfs.hpp"
#include "util/error.hpp"

namespace swamp {

std::optional<ProcStat> parse_proc_stat(const std::string& text) {
    // "pid (comm) S ppid ..."; comm may hold spaces and parentheses
    auto open = text.find('(');
    auto close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open) return std::nullopt;
    std::vector<std::string> f;  // f[0] is field 3 (state) of proc(5)
    std::istringstream rest(text.substr(close + 1));
    for (std::string tok; rest >> tok;) f.push_back(tok);
    if (f.size() < 20) return std::nullopt;
    ProcStat s;
    s.pid = atoi(text.c_str());
    s.comm = text.substr(open + 1, close - open - 1);
    s.state = f[0][0];
    s.ppid = atoi(f[1].c_str());
    s.sid = atoi(f[3].c_str());
    s.flags = strtoull(f[6].c_str(), nullptr, 10);
    s.start_ticks = strtoull(f[19].c_str(), nullptr, 10);
    s.cpu_ticks = strtoull(f[11].c_str(), nullptr, 10) + strtoull(f[12].c_str(), nullptr, 10);
    if (s.pid <= 0) return std::nullopt;
    return s;
}

std::optional<ProcStat> read_proc_stat(pid_t pid, const FsRoot& root) {
    // the whole file: a comm may hold a newline, so the line ends after the last ')'
    auto text = read_file(root.proc(pid, "stat"));
    if (!text) return std::nullopt;
    return parse_proc_stat(*text);
}

ProcsCpu read_procs_cpu(const std::set<uint32_t>& pids) {
    ProcsCpu out;
    for (uint32_t pid : pids)
        if (auto st = read_proc_stat(pid_t(pid))) {
            out.ticks += st->cpu_ticks;
            out.stopped = out.stopped || st->stopped();
        }
    return out;
}

bool proc_exists(pid_t pid) { return ::access(("/proc/" + std::to_string(pid)).c_str(), F_OK) == 0; }

bool is_stopped(pid_t pid) {
    auto st = read_proc_stat(pid);
    return st && st->stopped();
}

std::vector<std::string> read_cmdline(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    std::vector<std::string> argv;
    for (std::string arg; std::getline(in, arg, '\0');) argv.push_back(arg);
    return argv;
}

std::map<std::string, std::string> read_environ(pid_t pid, const std::vector<std::string>& names, size_t max_bytes) {
    std::map<std::string, std::string> out;
    int fd = open(("/proc/" + std::to_string(pid) + "/environ").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return out;
    std::string text(max_bytes, '\0');
    size_t got = 0;
    for (ssize_t n; got < max_bytes && (n = read(fd, text.data() + got, max_bytes - got)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        got += size_t(n);
    }
    close(fd);
    text.resize(got);
    for (size_t at = 0; at < text.size();) {
        size_t end = text.find('\0', at);
        if (end == std::string::npos) break;  // cut by max_bytes: not a whole entry
        std::string_view entry(text.data() + at, end - at);
        size_t eq = entry.find('=');
        if (eq != std::string_view::npos)
            for (const std::string& name : names)
                if (entry.substr(0, eq) == name) out[name] = std::string(entry.substr(eq + 1));
        at = end + 1;
    }
    return out;
}

std::string read_cwd(pid_t pid) {
    char buf[4096];
    ssize_t n = readlink(("/proc/" + std::to_string(pid) + "/cwd").c_str(), buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

FilesSize files_size(const std::vector<std::string>& paths, const std::string& dir) {
    FilesSize out;
    for (const std::string& p : paths) {
        std::string full = p.empty() || p[0] == '/' || dir.empty() ? p : dir + "/" + p;
        struct stat st;
        if (::stat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        out.bytes += uint64_t(st.st_size);
        out.count++;
    }
    return out;
}

FilesSize files_size_from_cwd(pid_t pid, const std::vector<std::string>& paths) {
    return files_size(paths, read_cwd(pid));
}

namespace {

// Every process in /proc but the kernel's threads.
std::vector<ProcStat> read_all_stats() {
    std::vector<ProcStat> out;
    if (DIR* d = opendir("/proc")) {
        while (dirent* e = readdir(d)) {
            char* end;
            long pid = strtol(e->d_name, &end, 10);
            if (*end || pid <= 0) continue;
            if (auto s = read_proc_stat(pid); s && !s->kernel_thread()) out.push_back(*s);
        }
        closedir(d);
    }
    return out;
}


// `roots` and everything below them among `all`, each once, parents before children.
std::vector<ProcStat> with_descendants(const std::vector<ProcStat>& all, std::vector<ProcStat> roots) {
    std::multimap<pid_t, const ProcStat*> by_parent;
    for (const ProcStat& p : all) by_parent.emplace(p.ppid, &p);
    std::set<pid_t> seen;
    for (const ProcStat& r : roots) seen.insert(r.pid);
    for (size_t i = 0; i < roots.size(); i++) {
        auto [lo, hi] = by_parent.equal_range(roots[i].pid);
        for (auto it = lo; it != hi; ++it)
            if (seen.insert(it->second->pid).second) roots.push_back(*it->second);
    }
    return roots;
}

}  // namespace

long real_uid(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("Uid:", 0) == 0) return strtol(line.c_str() + 4, nullptr, 10);
    return -1;
}

pid_t ancestor_named(pid_t pid, const std::vector<std::string>& names, pid_t except) {
    auto self = read_proc_stat(pid);
    for (pid_t p = self ? self->ppid : 0; p > 1;) {
        auto st = read_proc_stat(p);
        if (!st) break;
        if (p != except && std::find(names.begin(), names.end(), st->comm) != names.end()) return p;
        p = st->ppid;
    }
    return 0;
}

std::vector<ProcStat> scan_descendants(pid_t root) {
    ProcStat top;
    top.pid = root;
    std::vector<ProcStat> out = with_descendants(read_all_stats(), {top});
    out.erase(out.begin());
    return out;
}

std::vector<ProcStat> scan_watched(const std::vector<uid_t>& uids, const std::vector<std::string>& names) {
    std::vector<ProcStat> all = read_all_stats(), matched;
    for (const ProcStat& p : all) {
        if (p.pid <= 1 || p.pid == getpid()) continue;
        bool named = std::find(names.begin(), names.end(), p.comm) != names.end();
        if (named || (!uids.empty() && std::count(uids.begin(), uids.end(), uid_t(real_uid(p.pid)))))
            matched.push_back(p);
    }
    std::vector<ProcStat> out = with_descendants(all, std::move(matched));
    std::sort(out.begin(), out.end(), [](const ProcStat& a, const ProcStat& b) {
        return a.start_ticks != b.start_ticks ? a.start_ticks < b.start_ticks : a.pid < b.pid;
    });
    return out;
}

}  // namespace swamp

namespace swamp {

ProcStat validate_root_pid(pid_t pid) {
    std::string p = std::to_string(pid);
    if (pid == 1) throw UserError(ExitCode::BadPid, "refusing --root-pid 1: give the pid of a build (make, ninja, emerge)");
    if (pid == getpid()) throw UserError(ExitCode::BadPid, "refusing --root-pid " + p + ": that is swamp-bpf itself");
    auto st = read_proc_stat(pid);
    if (!st) throw UserError(ExitCode::BadPid, "no process with pid " + p + " (check the pid with `pgrep -a make`)");
    if (st->kernel_thread())
        throw UserError(ExitCode::BadPid, "pid " + p + " (" + st->comm + ") is a kernel thread, not a build");
    return *st;
}

bool has_capability(int cap) {
    std::ifstream in("/proc/self/status");
    uint64_t caps = 0;
    for (std::string line; std::getline(in, line);)
        if (line.rfind("CapEff:", 0) == 0) caps = strtoull(line.c_str() + 7, nullptr, 16);
    return (caps >> cap) & 1;
}

void require_bpf_privileges() {
    auto has = has_capability;
    constexpr int kSysAdmin = 21, kPerfmon = 38, kBpf = 39;
    if (has(kSysAdmin) || (has(kBpf) && has(kPerfmon))) return;
    throw UserError(ExitCode::Permission,
                    "loading the BPF programs needs root (or CAP_BPF + CAP_PERFMON): run swamp-bpf with sudo");
}

}  // namespace swamp
