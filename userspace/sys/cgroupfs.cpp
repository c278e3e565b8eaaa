#include "sys/cgroupfs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "sys/clock.hpp"
#include "sys/memparse.hpp"

namespace swamp {

std::optional<std::string> read_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ::close(fd);
            return std::nullopt;
        }
        if (n == 0) break;
        out.append(buf, size_t(n));
    }
    ::close(fd);
    return out;
}

int write_file(const std::string& path, const std::string& text) {
    // kernel files (cgroupfs, /proc/self) are never links: one here was put by someone else
    int fd = ::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return errno;
    int e = 0;
    if (::write(fd, text.data(), text.size()) < 0) e = errno;
    ::close(fd);
    return e;
}

bool path_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

std::vector<std::string> dir_entries(const std::string& dir) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d))
            if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) out.emplace_back(e->d_name);
        ::closedir(d);
    }
    return out;
}

void remove_file(const std::string& path) { ::unlink(path.c_str()); }

int make_cgroup(const std::string& dir) {
    return ::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST ? 0 : errno;
}

void remove_empty_cgroup(const std::string& dir) { ::rmdir(dir.c_str()); }

namespace {

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        out.push_back(text.substr(0, nl));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    return out;
}

bool events_frozen(std::string_view text) {
    for (auto line : lines_of(text))
        if (line == "frozen 1") return true;
    return false;
}

}  // namespace

std::vector<pid_t> cgroup_procs(const std::string& cg) {
    std::vector<pid_t> out;
    std::string procs = read_file(cg + "/cgroup.procs").value_or("");
    for (auto line : lines_of(procs))
        if (pid_t pid = pid_t(std::strtol(std::string(line).c_str(), nullptr, 10)); pid > 0) out.push_back(pid);
    return out;
}

bool wait_cgroup_frozen(const std::string& cg, int timeout_ms) {
    int fd = ::open((cg + "/cgroup.events").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    int64_t deadline = monotonic_ms() + timeout_ms;
    bool frozen = false;
    for (;;) {
        char buf[512];
        ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
        if (n > 0 && events_frozen(std::string_view(buf, size_t(n)))) {
            frozen = true;
            break;
        }
        int64_t left = deadline - monotonic_ms();
        if (left <= 0) break;
        // cgroup.events signals changes as POLLPRI (kernfs_notify); the
        // 50 ms cap also covers a missed notification.
        pollfd p{fd, POLLPRI, 0};
        ::poll(&p, 1, int(left < 50 ? left : 50));
    }
    ::close(fd);
    return frozen;
}

std::optional<std::string> v2_path_of(pid_t pid, const FsRoot& root) {
    auto lines = memparse::parse_proc_cgroup(read_file(root.proc(pid, "cgroup")).value_or(""));
    return memparse::v2_cgroup_path(lines);
}

bool remove_cgroup(const std::string& cg, const std::string& to, int tries, const std::optional<std::string>& cgroup2) {
    for (int i = 0; i < tries; i++) {
        for (pid_t pid : cgroup_procs(cg)) {
            std::string text = std::to_string(pid);
            if (write_file(to + "/cgroup.procs", text) != 0)
                if (cgroup2) write_file(*cgroup2 + "/cgroup.procs", text);  // `to` is gone
        }
        if (::rmdir(cg.c_str()) == 0 || errno == ENOENT) return true;
        if (errno != EBUSY) return false;
        ::usleep(10'000);  // a process forked while its siblings moved, or has not left yet
    }
    return false;
}

int release_swamp_cgroup(const std::string& dir, const std::optional<std::string>& cgroup2) {
    std::string parent = dir.substr(0, dir.rfind('/'));
    std::vector<std::string> jobs;
    for (const std::string& name : dir_entries(dir))
        if (name.starts_with("job-")) jobs.push_back(dir + "/" + name);
    int frozen = 0;
    for (const auto& cg : jobs) {  // thaw them all first: every job runs again at once
        if (read_file(cg + "/cgroup.freeze").value_or("0")[0] == '1') frozen++;
        write_file(cg + "/cgroup.freeze", "0");
    }
    for (const auto& cg : jobs) remove_cgroup(cg, parent, 50, cgroup2);
    remove_cgroup(dir, parent, 50, cgroup2);
    return frozen;
}

namespace {

void find_under(const std::string& dir, int depth, std::vector<std::string>& out) {
    if (depth > 12) return;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return;
    while (dirent* e = ::readdir(d)) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
        std::string sub = dir + "/" + e->d_name;
        if (std::strncmp(e->d_name, "swamp-bpf-", 10) == 0)
            out.push_back(sub);
        else
            find_under(sub, depth + 1, out);
    }
    ::closedir(d);
}

}  // namespace

std::vector<std::string> find_swamp_cgroups(const std::string& mount) {
    std::vector<std::string> out;
    find_under(mount, 0, out);
    return out;
}

}  // namespace swamp
